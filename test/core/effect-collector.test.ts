import { EffectCollector } from '../../src/core/effect-collector';
import type { InboundEvent } from '../../src/core/chat-event';
import { silentLogger } from '../../src/logging/create-logger';

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
    );
    const { reply, transferToHuman } = ctx;
    await reply('taken off');
    await transferToHuman();
    expect(ctx.result().effects.map((e) => e.effect.kind)).toEqual(['post', 'transfer']);
  });

  it('rejects, never throws, an action on an event outside any conversation, and records nothing', async () => {
    const outside: InboundEvent = { ...message, event: { type: 'visitor_updated', visitorId: 'V1' } };
    const ctx = new EffectCollector(outside, undefined, () => silentLogger());
    const replied = ctx.reply('hello');
    await expect(replied).rejects.toThrow('has no conversation to act in');
    await expect(ctx.transferToHuman()).rejects.toThrow('has no conversation to act in');
    expect(ctx.result()).toEqual({ effects: [], handover: undefined });
  });
});
