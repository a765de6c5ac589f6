/**
 * Counts the time during which a bot echo could have settled its reply: a clock that runs only
 * while `listening()` holds (sampled every `sampleMs`), which the app makes "a link delivers and
 * handling keeps up". The sender waits for an echo on this clock, not on the wall clock: after a
 * crash the echo comes back only once a link delivers again, which after a burst of restarts can
 * be many seconds of waiting for the `apps.connections.open` budget, and settles its reply only
 * once handled, behind the backlog the restart left; those seconds say nothing about whether the
 * reply reached ClickDesk.
 */
export class ListeningClock {
  private heardMs = 0;
  private lastAt: number;
  private lastListening: boolean;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly listening: () => boolean,
    private readonly now: () => number = Date.now,
    sampleMs = 250,
  ) {
    this.lastAt = now();
    this.lastListening = listening();
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  /** Milliseconds heard so far (monotonic). */
  read(): number {
    this.sample();
    return this.heardMs;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const at = this.now();
    // An interval counts when it began listening: a link lost in between costs at most one sample.
    if (this.lastListening) this.heardMs += Math.max(0, at - this.lastAt);
    this.lastAt = at;
    this.lastListening = this.listening();
  }
}
