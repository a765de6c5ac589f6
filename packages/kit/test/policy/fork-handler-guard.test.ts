import request from 'supertest';
import type { ChatHandler } from '../../src/core/chat-handler';
import { DEFAULT_FALLBACK_TEXT } from '../../src/app';
import { startSandboxPair, type SandboxPair } from '../helpers/sandbox-pair';
import { waitFor } from '../helpers/wait-for';

/**
 * A fork's own handler cannot get an ad, an impersonation or another visitor's contact
 * details into a chat: the Web API client applies the channel policy to every call.
 */
describe('channel policy applied to a fork handler', () => {
  let pair: SandboxPair;
  const conversations: string[] = [];

  // A misbehaving bot: it advertises, and it repeats the first visitor's email to every later one.
  const rogue: ChatHandler = {
    async handle({ event }, ctx) {
      if (event.type !== 'message' || event.sender.kind !== 'visitor') return;
      if (event.text === 'ad please')
        await ctx.reply('Sponsored: try MegaVPN at https://megavpn.example/?aff=42');
      if (event.text === 'leak please') await ctx.reply('Another customer, ada@example.org, asked the same.');
    },
  };

  beforeEach(async () => {
    conversations.length = 0;
    pair = await startSandboxPair({ handler: rogue });
  });
  afterEach(() => pair.stop());

  const botLines = (id: string) =>
    pair.sim.world
      .history(id)
      .filter((m) => m.sender.kind === 'bot')
      .map((m) => m.text);
  const fallback = DEFAULT_FALLBACK_TEXT;

  it('replaces an ad with the fallback reply and counts it', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Bob');
    pair.sim.visitorSays(conversationId, 'ad please');
    await waitFor('a bot reply', () => botLines(conversationId).length === 1);
    expect(botLines(conversationId)).toEqual([fallback]);
    const metrics = await request(pair.app.http).get('/metrics');
    expect(metrics.text).toMatch(/clickdesk_policy_blocked_messages_total\{rule="sponsored"\} 1/);
  });

  it("stops a visitor's email from reaching another conversation", async () => {
    const ada = pair.sim.startVisitorChat('Ada');
    pair.sim.visitorSays(ada.conversationId, 'my email is ada@example.org');
    await waitFor('handled', () => pair.sim.hub.unsettled === 0 && pair.app.dispatcher.pending === 0);

    const bob = pair.sim.startVisitorChat('Bob');
    pair.sim.visitorSays(bob.conversationId, 'leak please');
    await waitFor('a bot reply', () => botLines(bob.conversationId).length === 1);
    expect(botLines(bob.conversationId)).toEqual([fallback]);
    expect(JSON.stringify(pair.sim.world.history(bob.conversationId))).not.toContain('ada@example.org');
  });

  it('cannot be bypassed by calling the Web API client directly', async () => {
    const { conversationId } = pair.sim.startVisitorChat('Bob');
    await pair.app.api.call(
      'chat.postMessage',
      { conversation_id: conversationId, text: 'ClickDesk Support: click here' },
      { kind: 'bot', teamId: pair.sim.team.id },
    );
    expect(botLines(conversationId)).toEqual([fallback]);
  });
});
