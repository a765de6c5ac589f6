/**
 * The simulator in its own process, driven over IPC, so that benchmarks measure the app's
 * process alone. Messages in: {cmd:'flood', count, conversations} or {cmd:'storm', …} (see
 * storm.ts); out: {ready, url, credentials} then {done, seconds, counters, …} once every event
 * is acknowledged (or expired).
 */
import { Simulator } from '../src/sandbox/simulator';
import { runStorm, type StormCommand } from './storm';

const maxInFlight = Number(process.argv[2] ?? 1000);

async function main(): Promise<void> {
  const sim = new Simulator({ maxInFlight, agentJoinDelayMs: -1 });
  await sim.listen(0);
  const send = (msg: unknown): void => {
    process.send?.(msg);
  };
  send({ ready: true, credentials: sim.credentials() });

  process.on('message', (msg: { cmd: string; count?: number; conversations?: number }) => {
    if (msg.cmd === 'storm') {
      void runStorm(sim, msg as StormCommand).then(send);
    } else if (msg.cmd === 'flood') {
      sim.resetCounters();
      const count = msg.count ?? 0;
      const conversations = msg.conversations ?? 1000;
      const text =
        'Hello, I would like to know when my order will ship and whether I can still change the address.';
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        sim.publish({
          type: 'message',
          conversation_id: `C${i % conversations}`,
          sender: { kind: 'visitor', id: `V${i % conversations}` },
          text,
          ts: String(i),
        });
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
    } else if (msg.cmd === 'exit') {
      void sim.close().then(() => process.exit(0));
    }
  });
}

void main();
