import type { UsedStates } from '../../installations/install-state';

/** Used install states of this process (STORAGE=memory, tests). */
export class MemoryUsedStates implements UsedStates {
  private readonly used = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  consume(nonce: string, expiresAt: number): Promise<boolean> {
    for (const [n, exp] of this.used) if (exp < this.now()) this.used.delete(n);
    if (this.used.has(nonce)) return Promise.resolve(false);
    this.used.set(nonce, expiresAt);
    return Promise.resolve(true);
  }
}
