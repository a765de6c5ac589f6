/** What could not be done and needs an operator: an event whose handler kept failing, or an effect ClickDesk refused for good. */
export interface DeadLetter {
  readonly kind: 'event' | 'effect';
  /** The event id, or the effect id (`client_msg_id`). */
  readonly id: string;
  readonly teamId: string;
  readonly reason: string;
  /** Unix ms. */
  readonly at: number;
}

export type DeadLetterCounts = Record<DeadLetter['kind'], number>;

/** Dead letters are rows kept in place (inbox, outbox), encrypted and erased like any other Data. */
export interface DeadLetterStore {
  list(limit: number): Promise<DeadLetter[]>;
  count(): Promise<DeadLetterCounts>;
  /** Puts it back in line (events are handled again, effects sent again); false if there is no such dead letter. */
  retry(kind: DeadLetter['kind'], id: string): Promise<boolean>;
  /** Gives it up for good; false if there is no such dead letter. */
  drop(kind: DeadLetter['kind'], id: string): Promise<boolean>;
}
