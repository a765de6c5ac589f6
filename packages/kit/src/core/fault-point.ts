/**
 * Named places on the path of an event where crash tests stop the process (see
 * test/fixtures/crash-app-child.ts). Production wiring passes none.
 */
export type FaultPointName =
  'after-record' | 'during-handler' | 'after-outbox-commit' | 'before-send' | 'after-answer';

export type FaultPoint = (name: FaultPointName) => void;
