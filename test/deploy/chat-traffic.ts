import type { Simulator } from '@clickdesk-bot/sandbox';

/** What the simulator saw: each visitor message and how many bot messages answered it. */
export interface Tally {
  sent: number;
  answeredOnce: number;
  answeredTwice: number;
  unanswered: number;
  /** Conversations whose greeting did not come exactly once. */
  badGreetings: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Visitors chatting the way people do: each waits for the bot's answer (up to a minute, across
 * restarts and kills) before writing again. Counted only at the simulator, where a visitor sees it.
 */
export class ChatTraffic {
  private readonly conversations: string[] = [];
  private running = true;
  private readonly loops: Array<Promise<void>> = [];

  constructor(private readonly sim: Simulator) {}

  start(visitors: number): void {
    for (let i = 0; i < visitors; i++) this.loops.push(this.visitor(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private botMessages(conversationId: string): number {
    return this.sim.world.history(conversationId).filter((m) => m.sender.kind === 'bot').length;
  }

  private async answered(conversationId: string, count: number): Promise<void> {
    for (let waited = 0; waited < 60_000 && this.botMessages(conversationId) < count; waited += 50)
      await sleep(50);
  }

  private async visitor(i: number): Promise<void> {
    const { conversationId } = this.sim.startVisitorChat(`Visitor ${i}`);
    this.conversations.push(conversationId);
    await this.answered(conversationId, 1);
    for (let n = 1; this.running; n++) {
      const before = this.botMessages(conversationId);
      this.sim.visitorSays(conversationId, `question ${n} from visitor ${i}`);
      await this.answered(conversationId, before + 1);
      await sleep(200 + Math.random() * 300);
    }
  }

  /** Every visitor message, with the bot messages between it and the visitor's next one. */
  tally(): Tally {
    const t: Tally = { sent: 0, answeredOnce: 0, answeredTwice: 0, unanswered: 0, badGreetings: 0 };
    for (const c of this.conversations) {
      const runs: number[] = [0];
      for (const m of this.sim.world.history(c)) {
        if (m.sender.kind === 'visitor') runs.push(0);
        else if (m.sender.kind === 'bot') runs[runs.length - 1]! += 1;
      }
      if (runs[0] !== 1) t.badGreetings += 1;
      for (const answers of runs.slice(1)) {
        t.sent += 1;
        if (answers === 0) t.unanswered += 1;
        else if (answers === 1) t.answeredOnce += 1;
        else t.answeredTwice += 1;
      }
    }
    return t;
  }
}
