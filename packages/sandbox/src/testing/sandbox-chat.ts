import type { Simulator } from '../simulator';
import type { SimMessage } from '../world';

const DEFAULT_TIMEOUT_MS = 5_000;

/** One visitor's chat, seen from ClickDesk's side: what the visitor says and what reaches them. */
export class SandboxChat {
  /** How many of the bot's messages `nextReply` has handed out. */
  private repliesRead = 0;

  constructor(
    private readonly simulator: Simulator,
    readonly conversationId: string,
    readonly visitorId: string,
    /** The app's latest warnings and errors, quoted when a wait fails. */
    private readonly appProblems: () => readonly string[] = () => [],
  ) {}

  /** The visitor writes a message. */
  say(text: string): void {
    this.simulator.visitorSays(this.conversationId, text);
  }

  /** Resolves with the text of the bot's next message in this chat, in order; rejects after the timeout. */
  async nextReply(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const want = this.repliesRead + 1;
    await this.until(() => this.botMessages().length >= want, `reply #${want} from the bot`, timeoutMs);
    this.repliesRead = want;
    return this.botMessages()[want - 1]?.text ?? '';
  }

  /** Resolves once the bot has handed the chat to human agents. */
  async handedOver(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.until(
      () => this.simulator.world.conversations.get(this.conversationId)?.assignedTo != null,
      'a handover to human agents',
      timeoutMs,
    );
  }

  /** Resolves after `ms` with the bot's messages that arrived meanwhile (expect none to test silence). */
  async repliesWithin(ms: number): Promise<string[]> {
    await new Promise((r) => setTimeout(r, ms));
    const fresh = this.botMessages().slice(this.repliesRead);
    this.repliesRead += fresh.length;
    return fresh.map((m) => m.text);
  }

  /** The visitor closes the chat. */
  end(): void {
    this.simulator.endConversation(this.conversationId);
  }

  /** Everything in the chat so far, as `sender: text` lines (for failure messages). */
  transcript(): string[] {
    return this.simulator.world.history(this.conversationId).map((m) => `${m.sender.kind}: ${m.text}`);
  }

  private botMessages(): SimMessage[] {
    return this.simulator.world.history(this.conversationId).filter((m) => m.sender.kind === 'bot');
  }

  private async until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        const problems = this.appProblems();
        throw new Error(
          `waited ${timeoutMs} ms for ${what}; the chat so far:\n  ${this.transcript().join('\n  ') || '(empty)'}` +
            (problems.length > 0
              ? `\nthe app's latest warnings and errors:\n  ${problems.join('\n  ')}`
              : ''),
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
