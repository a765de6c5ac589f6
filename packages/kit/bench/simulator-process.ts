/**
 * The simulator in its own process, driven over IPC, so that benchmarks measure the app's
 * process alone. Messages in: {cmd:'flood', count, conversations} (as fast as acks allow),
 * {cmd:'drive', rate, seconds} (a steady rate), {cmd:'hellos', count} (a hello flood, then one
 * event) or {cmd:'storm', …} (see storm.ts); out:
 * {ready, url, credentials}, then {done, seconds, counters, …} once every event is acknowledged
 * (or expired).
 */
import { Simulator } from '@clickdesk-bot/sandbox';
import { runStorm, type StormCommand } from './storm';

const maxInFlight = Number(process.argv[2] ?? 1000);
const TEXT =
  'Hello, I would like to know when my order will ship and whether I can still change the address.';

interface Command {
  cmd: 'flood' | 'drive' | 'storm' | 'hellos' | 'exit';
  count?: number;
  conversations?: number;
  /** drive: events per second, for this many seconds. */
  rate?: number;
  seconds?: number;
}

async function main(): Promise<void> {
  const sim = new Simulator({ maxInFlight, agentJoinDelayMs: -1 });
  await sim.listen(0);
  const send = (msg: unknown): void => {
    process.send?.(msg);
  };
  send({ ready: true, credentials: sim.credentials() });

  process.on('message', (msg: Command) => {
    if (msg.cmd === 'storm') {
      void runStorm(sim, msg as unknown as StormCommand).then(send);
    } else if (msg.cmd === 'flood') {
      sim.resetCounters();
      const count = msg.count ?? 0;
      const conversations = msg.conversations ?? 1000;
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      // Each conversation starts as a chat does (the app stores it), then its visitor writes.
      for (let i = 0; i < count; i++) {
        const c = i % conversations;
        sim.publish(
          i < conversations
            ? {
                type: 'conversation_started',
                conversation_id: `C${c}`,
                visitor: { id: `V${c}`, name: `Visitor ${c}` },
                page_url: 'https://shop.example/checkout',
              }
            : {
                type: 'message',
                conversation_id: `C${c}`,
                sender: { kind: 'visitor', id: `V${c}` },
                text: TEXT,
                ts: String(i),
              },
        );
      }
      const check = setInterval(() => {
        if (sim.hub.unsettled > 0) return;
        clearInterval(check);
        send({
          done: true,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          counters: sim.counters,
          cpuMicros: ((u) => u.user + u.system)(process.cpuUsage(cpu)),
        });
      }, 2);
    } else if (msg.cmd === 'drive') {
      // A steady rate, in 20 ms ticks; visitors come and go (a new conversation every 20 messages).
      sim.resetCounters();
      const { rate = 500, seconds = 60 } = msg;
      const started = Date.now();
      let published = 0;
      const tick = setInterval(() => {
        const due = Math.min(rate * seconds, Math.floor(((Date.now() - started) / 1000) * rate));
        for (; published < due; published++) {
          const c = Math.floor(published / 20);
          sim.publish({
            type: 'message',
            conversation_id: `C${c}`,
            sender: { kind: 'visitor', id: `V${c}` },
            text: TEXT,
            ts: String(published),
          });
        }
        if (published >= rate * seconds && sim.hub.unsettled === 0) {
          clearInterval(tick);
          send({ done: true, seconds: (Date.now() - started) / 1000, counters: sim.counters, published });
        }
      }, 20);
    } else if (msg.cmd === 'hellos') {
      // `count` repeated hellos on every link, 10,000 a turn, then one event: once it is
      // acknowledged, the client has read every hello before it.
      sim.resetCounters();
      const count = msg.count ?? 0;
      const hello = JSON.stringify({
        type: 'hello',
        num_connections: 1,
        connection_info: { app_id: sim.options.appId },
      });
      let sent = 0;
      const batch = (): void => {
        const n = Math.min(10_000, count - sent);
        sim.hub.sendRaw(Array.from({ length: n }, () => hello));
        sent += n;
        if (sent < count) {
          setImmediate(batch);
          return;
        }
        sim.publish({
          type: 'message',
          conversation_id: 'C0',
          sender: { kind: 'visitor', id: 'V0' },
          text: TEXT,
          ts: '0',
        });
        const check = setInterval(() => {
          if (sim.hub.unsettled > 0) return;
          clearInterval(check);
          send({ done: true, seconds: 0, counters: sim.counters, cpuMicros: 0 });
        }, 2);
      };
      batch();
    } else if (msg.cmd === 'exit') {
      void sim.close().then(() => process.exit(0));
    }
  });
}

void main();
