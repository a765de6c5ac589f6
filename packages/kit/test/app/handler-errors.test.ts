import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/create-logger';
import { MemoryEventInbox } from '../../src/storage/memory/memory-event-inbox';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { waitFor } from '../helpers/wait-for';

/** Terms 7: what a visitor wrote never reaches the log, even through a bot's own error message. */
describe('a handler that throws with chat text in its message', () => {
  let pair: SandboxPair;
  const lines: string[] = [];
  const inbox = new MemoryEventInbox();
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    pair = await startSandboxPair({
      handler: {
        handle: ({ event }) => {
          if (event.type === 'message') throw new TypeError(`cannot handle: ${event.text}`);
          return Promise.resolve();
        },
      },
      app: {
        logger: createLogger('info', sink),
        inbox,
        handlerRetry: { maxAttempts: 2, baseMs: 10, maxMs: 20 },
      },
    });
  });
  afterAll(() => pair.stop());

  it('is logged by code, class and place, never by its message, and dead-lettered by its class', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Ada');
    pair.sim.visitorSays(conversationId, 'my email is ada@example.org');
    await waitFor('dead letter', () => lines.some((l) => l.includes('event dead-lettered')));
    const failures = lines.map(
      (l) => JSON.parse(l) as { msg: string; err?: { code: string; message: string } },
    );
    const failed = failures.filter((l) => l.err?.code === 'HANDLER_FAILED');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed[0]?.err?.message).toMatch(
      /^the bot's handler threw TypeError at .*handler-errors\.test\.ts/,
    );
    expect(lines.join('\n')).not.toMatch(/ada@example\.org|cannot handle/);
    const [dead] = await inbox.deadLetters.list(10);
    expect(dead).toMatchObject({ kind: 'event', reason: 'handler_failed:TypeError' });
  });
});
