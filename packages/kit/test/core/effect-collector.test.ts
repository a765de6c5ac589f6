import { EffectCollector } from '../../src/core/effect-collector';
import type { InboundEvent } from '../../src/core/chat-event';
import { silentLogger } from '../../src/logging/create-logger';
import { createEgressFetch } from '../../src/policy/egress-fetch';
import { MemoryProfileStore } from '../../src/storage/memory/memory-conversation-store';

const profiles = new MemoryProfileStore();
const services = { profiles, fetch: createEgressFetch(['https://orders.example']) };

const message: InboundEvent = {
  eventId: 'Ev1',
  teamId: 'T1',
  eventTime: 1,
  event: {
    type: 'message',
    conversationId: 'C1',
    sender: { kind: 'visitor', id: 'V1' },
    text: 'hi',
    ts: '1.0',
  },
};

describe('EffectCollector', () => {
  it('collects replies and a handover as effects with ids stable per position, sealed under the visitor', async () => {
    const ctx = new EffectCollector(
      message,
      { teamId: 'T1', conversationId: 'C1', visitorId: 'V1', status: 'bot', startedAt: 1 },
      () => silentLogger(),
      services,
    );
    await ctx.reply('one');
    await ctx.transferToHuman();
    const { effects, handover } = ctx.result();
    expect(effects.map((e) => [e.effectId, e.effect])).toEqual([
      ['Ev1-0', { kind: 'post', text: 'one' }],
      ['Ev1-1', { kind: 'transfer' }],
    ]);
    expect(effects.every((e) => e.subject?.kind === 'visitor' && e.subject.id === 'V1')).toBe(true);
    expect(handover).toEqual({ teamId: 'T1', conversationId: 'C1' });
  });

  it('keeps its actions when a handler takes them off the context (destructured)', async () => {
    const ctx = new EffectCollector(
      message,
      { teamId: 'T1', conversationId: 'C1', visitorId: 'V1', status: 'bot', startedAt: 1 },
      () => silentLogger(),
      services,
    );
    const { reply, transferToHuman } = ctx;
    await reply('taken off');
    await transferToHuman();
    expect(ctx.result().effects.map((e) => e.effect.kind)).toEqual(['post', 'transfer']);
  });

  it('rejects, never throws, an action on an event outside any conversation, and records nothing', async () => {
    const outside: InboundEvent = { ...message, event: { type: 'visitor_updated', visitorId: 'V1' } };
    const ctx = new EffectCollector(outside, undefined, () => silentLogger(), services);
    const replied = ctx.reply('hello');
    await expect(replied).rejects.toThrow('has no conversation to act in');
    await expect(ctx.transferToHuman()).rejects.toThrow('has no conversation to act in');
    expect(ctx.result()).toEqual({ effects: [], handover: undefined });
  });

  it("gives the visitor's name on every visitor message, read from the profile ClickDesk last sent", async () => {
    await profiles.put('T1', { kind: 'visitor', id: 'V1' }, { name: 'Ada Lovelace' });
    const ctx = new EffectCollector(message, undefined, () => silentLogger(), services);
    expect(await ctx.visitor()).toEqual({ id: 'V1', name: 'Ada Lovelace' });
    const agentSays: InboundEvent = {
      ...message,
      event: { ...message.event, sender: { kind: 'agent', id: 'A1' } } as InboundEvent['event'],
    };
    const inConversation = {
      teamId: 'T1',
      conversationId: 'C1',
      visitorId: 'V1',
      status: 'agent' as const,
      startedAt: 1,
    };
    expect(
      await new EffectCollector(agentSays, inConversation, () => silentLogger(), services).visitor(),
    ).toEqual({ id: 'V1', name: 'Ada Lovelace' });
    const unknown: InboundEvent = {
      ...message,
      event: { ...message.event, sender: { kind: 'visitor', id: 'V2' } } as InboundEvent['event'],
    };
    expect(await new EffectCollector(unknown, undefined, () => silentLogger(), services).visitor()).toEqual({
      id: 'V2',
      name: undefined,
    });
  });

  it('gives a fetch that refuses every origin the operator and the bot did not name (Terms 4.8.2)', async () => {
    const ctx = new EffectCollector(message, undefined, () => silentLogger(), services);
    await expect(ctx.fetch('https://tracker.example/collect')).rejects.toMatchObject({
      code: 'EGRESS_BLOCKED',
    });
  });
});
