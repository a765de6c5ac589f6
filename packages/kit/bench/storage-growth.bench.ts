import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { InboundEvent } from '../src/core/chat-event';
import type { Storage } from '../src/storage/open-storage';
import type { BenchReport } from './report';
import { benchDatabase } from './storage.bench';
import { SIMULATOR_TEAM as TEAM, storeHistory } from './stored-history';

const CONVERSATIONS = 1_000;
/** Events recorded and not yet completed at once, as the simulator's window of unacked envelopes. */
const IN_FLIGHT = 1_000;
const TEXT =
  'Hello, I would like to know when my order will ship and whether I can still change the address.';

export interface StorageGrowthOptions {
  kinds: Array<'sqlite' | 'postgres'>;
  /** Events recorded and completed at each size. */
  events: number;
  /** Messages stored before each measurement, ascending (the database grows between them). */
  sizes: number[];
  databaseUrl: string;
}

interface Pass {
  stored: number;
  perSecond: number;
  cpuMicros: number;
  bytesWritten: number;
}

/**
 * What the durable inbox costs per event as the database grows: `events` visitor messages
 * recorded through the real inbox (each stored once, as its sealed message row) and completed,
 * 1,000 in flight, on a database holding `sizes[i]` messages with their handled inbox rows. Besides
 * time and CPU, the bytes each event makes the database write: on SQLite this process's `write`
 * calls (`/proc/self/io`: the WAL, and the checkpoints copying it into the database file), on
 * PostgreSQL the server's WAL (`pg_stat_wal`).
 */
export async function storageGrowthBenchmark(
  opts: StorageGrowthOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  for (const kind of opts.kinds) {
    const db = await benchDatabase(kind, opts.databaseUrl);
    const storage = await db.open();
    try {
      // Compiled code first: the first size's figures would otherwise include the JIT's warm-up.
      await recordAndComplete(storage, 2_000);
      const passes: Pass[] = [];
      for (const size of [...opts.sizes].sort((a, b) => a - b)) {
        const stored = await countMessages(storage);
        if (size > stored) await storeHistory(storage, TEAM, size - stored, progress);
        progress(
          `${kind}: ${opts.events.toLocaleString('en-US')} events with ${size.toLocaleString('en-US')} stored`,
        );
        passes.push({
          stored: await countMessages(storage),
          ...(await recordAndComplete(storage, opts.events)),
        });
      }
      const first = passes[0]!;
      for (const p of passes) {
        const at = `${kind}, ${p.stored.toLocaleString('en-US')} messages stored`;
        rows.push(
          { label: `${at}: events/s recorded and completed`, value: p.perSecond },
          { label: `${at}: CPU per event (this process, all threads), µs`, value: p.cpuMicros },
          {
            label: `${at}: bytes written per event (${kind === 'sqlite' ? 'WAL + checkpoints' : 'server WAL'})`,
            value: p.bytesWritten,
          },
          ...(p === first
            ? []
            : [
                {
                  label: `${at}: CPU per event / the first size's`,
                  value: p.cpuMicros / first.cpuMicros,
                  ratio: true,
                },
              ]),
        );
      }
    } finally {
      await storage.close();
      await db.cleanup();
    }
  }
  return {
    name: 'storage growth',
    rows,
    notes: [
      `${opts.events.toLocaleString('en-US')} visitor messages per size over ${CONVERSATIONS} conversations, ${IN_FLIGHT} in flight; stored history: random event ids, 5,000 past conversations (bench/stored-history.ts)`,
      'bytes written on SQLite are NaN where /proc/self/io is not readable',
    ],
  };
}

async function countMessages(storage: Storage): Promise<number> {
  const [row] = await storage.sql!.db.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM messages');
  return Number(row?.n ?? 0);
}

async function recordAndComplete(
  storage: Storage,
  count: number,
): Promise<{ perSecond: number; cpuMicros: number; bytesWritten: number }> {
  const events: InboundEvent[] = Array.from({ length: count }, (_, i) => ({
    eventId: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    teamId: TEAM,
    eventTime: Math.floor(Date.now() / 1000),
    event: {
      type: 'message',
      conversationId: `C${i % CONVERSATIONS}`,
      sender: { kind: 'visitor', id: `V${i % CONVERSATIONS}` },
      text: TEXT,
      ts: String(i),
    },
  }));
  const written = (): Promise<number> =>
    storage.sql!.db.dialect === 'postgres' ? serverWalBytes(storage) : Promise.resolve(processBytesWritten());
  const bytesBefore = await written();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let e = events[next++]; e; e = events[next++]) {
        await storage.inbox.record(e);
        await storage.inbox.complete(e.eventId, { effects: [] });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const bytes = (await written()) - bytesBefore;
  return {
    perSecond: count / seconds,
    cpuMicros: (used.user + used.system) / count,
    bytesWritten: bytes / count,
  };
}

/** Bytes this process has passed to `write` and its kin (Linux; NaN elsewhere). */
function processBytesWritten(): number {
  try {
    const line = readFileSync('/proc/self/io', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('wchar:'));
    return line ? Number(line.split(':')[1]) : NaN;
  } catch {
    return NaN;
  }
}

async function serverWalBytes(storage: Storage): Promise<number> {
  const [row] = await storage.sql!.db.all<{ b: string }>('SELECT wal_bytes::text AS b FROM pg_stat_wal');
  return Number(row?.b ?? NaN);
}
