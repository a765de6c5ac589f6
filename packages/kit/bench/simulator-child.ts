import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ClickDeskCredentials } from '../src/app';
import type { SimulatorCounters } from '@clickdesk-bot/sandbox';
import type { StormCommand, StormResult } from './storm';

/** A handle on the simulator running in a child process. */
export class SimulatorChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly credentials: ClickDeskCredentials,
  ) {}

  static async start(maxInFlight: number): Promise<SimulatorChild> {
    // Compiled (npm run bench) or run from source through tsx.
    const compiled = __filename.endsWith('.js');
    const child = fork(
      path.join(__dirname, `simulator-process${compiled ? '.js' : '.ts'}`),
      [String(maxInFlight)],
      {
        execArgv: compiled ? [] : ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const ready = await new Promise<{ credentials: ClickDeskCredentials }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { credentials: ClickDeskCredentials }));
      child.once('exit', (code) => reject(new Error(`simulator process exited with ${code}`)));
    });
    return new SimulatorChild(child, ready.credentials);
  }

  /** Publishes `count` message events and resolves once all are acknowledged. */
  flood(
    count: number,
    conversations: number,
  ): Promise<{ seconds: number; counters: SimulatorCounters; cpuMicros: number }> {
    return this.run({ cmd: 'flood', count, conversations });
  }

  /** Publishes `rate` message events a second for `seconds`; resolves once all are acknowledged. */
  drive(
    rate: number,
    seconds: number,
  ): Promise<{ seconds: number; counters: SimulatorCounters; cpuMicros: number }> {
    return this.run({ cmd: 'drive', rate, seconds });
  }

  /** Sends `count` repeated hellos on every link, then one event; resolves once that is acknowledged. */
  hellos(count: number): Promise<{ counters: SimulatorCounters }> {
    return this.run({ cmd: 'hellos', count });
  }

  private run(command: object): Promise<{ seconds: number; counters: SimulatorCounters; cpuMicros: number }> {
    return new Promise((resolve) => {
      const onMessage = (m: unknown): void => {
        const msg = m as { done?: boolean; seconds: number; counters: SimulatorCounters; cpuMicros: number };
        if (!msg.done) return;
        this.child.off('message', onMessage);
        resolve(msg);
      };
      this.child.on('message', onMessage);
      this.child.send(command);
    });
  }

  /** Runs a fault storm (see storm.ts) and resolves with what the simulator saw. */
  storm(cmd: Omit<StormCommand, 'cmd'>): Promise<StormResult> {
    return new Promise((resolve) => {
      const onMessage = (m: unknown): void => {
        const msg = m as StormResult;
        if (!msg.done) return;
        this.child.off('message', onMessage);
        resolve(msg);
      };
      this.child.on('message', onMessage);
      this.child.send({ cmd: 'storm', ...cmd });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'exit' });
    await exited;
  }
}
