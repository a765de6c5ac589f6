// The ack deadlines of sent envelopes, kept with one timer.
import { Fifo } from './fifo';

/** What a tracked sending must show: when its ack is due, and whether it still needs one. */
export interface AwaitingAck {
  /** performance.now() ms; a later sending of the same delivery sets a later one. */
  due: number;
  settled: boolean;
}

/**
 * One timer for every ack deadline: the timeout is the same for all, so deliveries come due
 * in the order they were sent. An entry whose delivery was settled or sent again since is
 * skipped when reached.
 */
export class AckDeadlines<T extends AwaitingAck> {
  private readonly awaitingAck = new Fifo<T>();
  private readonly dueAt = new Fifo<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onTimeout: (item: T) => void) {}

  /** Starts waiting for the ack of a sending due at `item.due`. */
  track(item: T): void {
    this.awaitingAck.push(item);
    this.dueAt.push(item.due);
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    const next = this.dueAt.peek();
    if (this.timer !== undefined || next === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = performance.now();
        for (let due = this.dueAt.peek(); due !== undefined && due <= now; due = this.dueAt.peek()) {
          this.dueAt.shift();
          const item = this.awaitingAck.shift();
          if (item && !item.settled && item.due === due) this.onTimeout(item);
        }
        this.arm();
      },
      Math.max(0, Math.ceil(next - performance.now())),
    );
  }
}
