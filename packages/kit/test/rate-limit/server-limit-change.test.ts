import type { ChatHandler } from '../../src/core/chat-handler';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { sleep, waitFor } from '../helpers/wait-for';

const echo: ChatHandler = {
  async handle({ event }, ctx) {
    if (event.type === 'message' && event.sender.kind === 'visitor') await ctx.reply('Thanks, noted.');
  },
};

/** The `limits` fault switch of docs/sandbox.md: POST /sandbox/limits tightens (and restores) a method's limit. */
async function setLimit(pair: SandboxPair, limit: number): Promise<void> {
  const url = new URL('/sandbox/limits', pair.sim.credentials().apiUrl);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'chat.postMessage', limit }),
  });
  expect(res.status).toBe(200);
}

describe('limits ClickDesk changes at run time (contract §1: in both directions)', () => {
  let pair: SandboxPair;
  afterEach(async () => pair.stop());

  it('follows a lowered chat.postMessage limit and goes back up when it is restored', async () => {
    pair = await startSandboxPair({ handler: echo, simulator: { agentJoinDelayMs: -1 } });
    const { sim, app } = pair;
    const posts = () => sim.counters.apiCalls['chat.postMessage'] ?? 0;
    // The simulator counts a call before its answer reaches the app: poll until the app has read it.
    const limitBecomes = async (want: number) => {
      let seen: number | undefined;
      for (const deadline = Date.now() + 2_000; Date.now() < deadline; await sleep(10)) {
        seen = (await app.governor.snapshot()).find((s) => s.method === 'chat.postMessage')?.limit;
        if (seen === want) break;
      }
      return seen;
    };
    const conversation = () => sim.world.startConversation(sim.team.id, 'V1').id;

    await setLimit(pair, 5);
    sim.visitorSays(conversation(), 'hello');
    await waitFor('the first reply', () => posts() === 1);
    expect(await limitBecomes(5)).toBe(5);

    await setLimit(pair, 600);
    sim.visitorSays(conversation(), 'hello again');
    await waitFor('the second reply', () => posts() === 2);
    expect(await limitBecomes(600)).toBe(600);

    // At 5 a minute these would take minutes; at 600 they all go at once.
    for (let i = 0; i < 20; i++) sim.visitorSays(conversation(), `question ${i}`);
    await waitFor('twenty more replies', () => posts() === 22, 5_000);
    expect(sim.counters.ratelimited).toBe(0);
  });
});
