import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Remembers which install states were used, so each works once (shared by all instances in SQL). */
export interface UsedStates {
  /** Records the state's nonce; false if it was used before. */
  consume(nonce: string, expiresAt: number): Promise<boolean>;
}

export type StateCheck =
  { ok: true } | { ok: false; reason: 'malformed' | 'forged' | 'expired' | 'other_browser' | 'replayed' };

export const STATE_TTL_MS = 10 * 60_000;

/**
 * The OAuth `state` of the install flow: `<nonce>.<expiry>.<HMAC>`, signed with a key derived
 * from the client secret, valid 10 minutes, single-use, and bound to the browser that started
 * the flow by a cookie holding the same nonce (a link forwarded to someone else does not work).
 */
export class InstallState {
  private readonly key: Buffer;

  constructor(
    clientSecret: string,
    private readonly used: UsedStates,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', clientSecret, 'clickdesk-bot-starter', 'install-state v1', 32));
  }

  issue(): { state: string; nonce: string; expiresAt: number } {
    const nonce = randomBytes(18).toString('base64url');
    const expiresAt = this.now() + STATE_TTL_MS;
    return { state: `${nonce}.${expiresAt}.${this.sign(nonce, expiresAt)}`, nonce, expiresAt };
  }

  /** Checks a returned state against the browser's cookie, then spends it. */
  async check(state: string, cookieNonce: string | undefined): Promise<StateCheck> {
    const verified = this.verify(state, cookieNonce);
    return verified.ok ? this.spend(state) : verified;
  }

  /** Checks a returned state against the browser's cookie without spending it. */
  verify(state: string, cookieNonce: string | undefined): StateCheck {
    const parts = state.split('.');
    const [nonce, expiry, mac] = parts;
    if (parts.length !== 3 || !nonce || !expiry || !mac || !/^\d{1,15}$/.test(expiry))
      return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.sign(nonce, Number(expiry)));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: 'forged' };
    if (Number(expiry) <= this.now()) return { ok: false, reason: 'expired' };
    const cookie = Buffer.from(cookieNonce ?? '');
    const want = Buffer.from(nonce);
    if (cookie.length !== want.length || !timingSafeEqual(cookie, want))
      return { ok: false, reason: 'other_browser' };
    return { ok: true };
  }

  /** Spends a state `verify` accepted: false ('replayed') if it was spent before. */
  async spend(state: string): Promise<StateCheck> {
    const [nonce = '', expiry = '0'] = state.split('.');
    if (!(await this.used.consume(nonce, Number(expiry)))) return { ok: false, reason: 'replayed' };
    return { ok: true };
  }

  private sign(nonce: string, expiresAt: number): string {
    return createHmac('sha256', this.key).update(`${nonce}.${expiresAt}`).digest('base64url');
  }
}
