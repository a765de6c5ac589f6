import type { InboundEvent } from '../../src/core/chat-event';
import type { ChatHandler } from '../../src/core/chat-handler';
import type { Storage } from '../../src/storage/open-storage';
import { Simulator } from '@clickdesk-bot/sandbox';
import { connectApp, FAST_SIMULATOR } from '../helpers/sandbox-pair';
import { STORAGE_KINDS, storageFixture, type StorageFixture } from '../helpers/storage-fixtures';
import { waitFor } from '../helpers/wait-for';

/**
 * Durable dedup at the gateway: envelopes are acknowledged after the event is committed, and
 * two instances sharing one database handle each event once between them, redeliveries and
 * duplicates included.
 */
const sharedKinds = STORAGE_KINDS.filter((k) => k === 'postgres');
const describeShared = sharedKinds.length > 0 ? describe : describe.skip;

describeShared('two app instances sharing PostgreSQL', () => {
  let fx: StorageFixture;
  let sim: Simulator;
  const storages: Storage[] = [];

  beforeEach(async () => {
    fx = await storageFixture('postgres');
    sim = new Simulator({ ...FAST_SIMULATOR, ackTimeoutMs: 1_000, agentJoinDelayMs: -1 });
    await sim.listen(0);
  });
  afterEach(async () => {
    await sim.close();
    for (const s of storages.splice(0)) await s.close();
    await fx.cleanup();
  });

  it('handle each event exactly once between them, duplicates and lost acks included', async () => {
    const handled = new Map<string, number>();
    const counting: ChatHandler = {
      handle(e: InboundEvent) {
        handled.set(e.eventId, (handled.get(e.eventId) ?? 0) + 1);
        return Promise.resolve();
      },
    };
    const apps = [];
    for (let i = 0; i < 2; i++) {
      const storage = await fx.open();
      storages.push(storage);
      const { app } = await connectApp(sim, {
        handler: counting,
        app: {
          inbox: storage.inbox,
          conversations: storage.conversations,
          messages: storage.messages,
          profiles: storage.profiles,
        },
      });
      apps.push(app);
    }
    sim.hub.faults.duplicateNext = 100;
    const ids = Array.from({ length: 300 }, (_, i) =>
      sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }),
    );
    sim.hub.faults.withholdAcks = true;
    ids.push(
      ...Array.from({ length: 20 }, (_, i) => sim.publish({ type: 'visitor_updated', visitor_id: `W${i}` })),
    );
    await waitFor('redeliveries', () => sim.counters.envelopesRedelivered >= 20);
    sim.hub.faults.withholdAcks = false;

    await waitFor('all acknowledged', () => sim.hub.unsettled === 0, 15_000);
    await waitFor('all handled', () => ids.every((id) => handled.has(id)), 15_000);
    for (const app of apps) await app.stop();
    expect(sim.counters.eventsExpired).toBe(0);
    expect([...handled.values()].filter((n) => n > 1)).toEqual([]);
    expect(handled.size).toBe(ids.length);
  });
});

describe.each(STORAGE_KINDS)('the gateway with durable %s storage', (kind) => {
  it('acknowledges only what was committed, and replays what a crash left unhandled', async () => {
    const fx = await storageFixture(kind);
    const sim = new Simulator({ ...FAST_SIMULATOR, agentJoinDelayMs: -1 });
    await sim.listen(0);
    try {
      // First life: events are recorded and acknowledged, but the handler never finishes (a crash).
      const first = await fx.open();
      const stuck: ChatHandler = { handle: () => new Promise(() => undefined) };
      const { app: crashed } = await connectApp(sim, {
        handler: stuck,
        app: {
          inbox: first.inbox,
          conversations: first.conversations,
          messages: first.messages,
          profiles: first.profiles,
        },
      });
      const ids = Array.from({ length: 10 }, (_, i) =>
        sim.publish({ type: 'visitor_updated', visitor_id: `V${i}` }),
      );
      await waitFor('acknowledged', () => sim.counters.eventsAcked === 10);
      await crashed.gateway.close();
      await first.close();

      // Second life, same database: the unhandled events come back from the inbox, not from ClickDesk.
      const second = await fx.open({ now: () => Date.now() + 10 * 60_000 });
      const seen: string[] = [];
      const { app } = await connectApp(sim, {
        handler: { handle: (e) => Promise.resolve(void seen.push(e.eventId)) },
        app: {
          inbox: second.inbox,
          conversations: second.conversations,
          messages: second.messages,
          profiles: second.profiles,
        },
      });
      await waitFor('replayed', () => seen.length === 10);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(sim.counters.envelopesRedelivered).toBe(0);
      await app.stop();
      await second.close();
    } finally {
      await sim.close();
      await fx.cleanup();
    }
  });
});
