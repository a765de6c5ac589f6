import type { Sodium } from './sodium';

/** An unwrapped data key held in memory, with what it belongs to (to drop it by team or subject). */
export interface CachedKey {
  readonly id: string;
  readonly key: Uint8Array;
  readonly teamId: string;
  /** `<scope>|<subject ref>`, e.g. `subject|Xy…` or `team|`. */
  readonly owner: string;
}

/**
 * Unwrapped data keys, bounded in count and in time (Terms 6.2, 8). Every key that leaves the
 * cache — expired, evicted for room, replaced, shredded or at close — is zeroed with
 * `sodium.memzero` first, so a dropped key does not linger in memory. A sweep drops expired
 * entries even when nobody asks for them. Callers use a key at once (never across an await):
 * a key dropped meanwhile is all zeroes, which `StorageContext.seal` refuses.
 */
export class KeyCache {
  private readonly byId = new Map<string, { entry: CachedKey; at: number }>();
  private readonly byOwner = new Map<string, string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly sodium: Sodium,
    readonly ttlMs = 60_000,
    readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
    /** Called after keys were dropped, to wipe copies held elsewhere (the cipher's scratch memory). */
    private readonly afterDrop: () => void = () => undefined,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.floor(ttlMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.byId.size;
  }

  byKeyId(id: string): CachedKey | undefined {
    const hit = this.byId.get(id);
    if (!hit) return undefined;
    if (this.now() - hit.at >= this.ttlMs) {
      this.drop(id);
      this.afterDrop();
      return undefined;
    }
    return hit.entry;
  }

  byOwnerOf(teamId: string, owner: string): CachedKey | undefined {
    const id = this.byOwner.get(`${teamId}|${owner}`);
    return id === undefined ? undefined : this.byKeyId(id);
  }

  set(entry: CachedKey): void {
    const previous = this.byId.get(entry.id);
    if (previous && previous.entry.key !== entry.key) this.sodium.memzero(previous.entry.key);
    this.byId.delete(entry.id); // re-inserted last: Map order is the eviction order
    this.byId.set(entry.id, { entry, at: this.now() });
    this.byOwner.set(`${entry.teamId}|${entry.owner}`, entry.id);
    let dropped = false;
    while (this.byId.size > this.maxEntries) dropped = this.drop(this.byId.keys().next().value as string);
    if (dropped || previous) this.afterDrop();
  }

  /** Zeroes and forgets these keys. */
  dropIds(ids: Iterable<string>): void {
    for (const id of ids) this.drop(id);
    this.afterDrop();
  }

  /** Zeroes and forgets every key of a team. */
  dropTeam(teamId: string): void {
    for (const [id, { entry }] of this.byId) if (entry.teamId === teamId) this.drop(id);
    this.afterDrop();
  }

  /** Zeroes and forgets every key. */
  clear(): void {
    for (const id of [...this.byId.keys()]) this.drop(id);
    this.afterDrop();
  }

  /** Drops expired entries (also runs on a timer). */
  sweep(): void {
    const now = this.now();
    let dropped = false;
    for (const [id, { at }] of this.byId) if (now - at >= this.ttlMs) dropped = this.drop(id) || dropped;
    if (dropped) this.afterDrop();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.clear();
  }

  private drop(id: string): boolean {
    const hit = this.byId.get(id);
    if (!hit) return false;
    this.byId.delete(id);
    const ownerKey = `${hit.entry.teamId}|${hit.entry.owner}`;
    if (this.byOwner.get(ownerKey) === id) this.byOwner.delete(ownerKey);
    this.sodium.memzero(hit.entry.key);
    return true;
  }
}
