/**
 * Invitation codes (`--registration invite`, issue 33): an admin makes one, one registration uses
 * it up, and it is valid `INVITE_DAYS`. A code is 20 characters of Crockford's base32 (100 random
 * bits) in groups of five; the store keeps only the SHA-256 of its canonical form (case, spaces and
 * dashes do not count; o, i and l read as 0, 1 and 1). No I/O of its own.
 */
import type { Clock } from "../common/clock.ts";
import { sha256Hex } from "../common/bytes.ts";
import type { Store } from "./store/store.ts";

/** How long an invitation code stays valid (7 days). */
export const INVITE_DAYS = 7;
const BASE32 = "0123456789abcdefghjkmnpqrstvwxyz";

export class Invites {
  constructor(readonly store: Store, readonly clock: Clock) {}

  /** A new code from `by`, stored (as its hash) until it expires. */
  async make(by: string): Promise<{ code: string; expires: number }> {
    const raw = crypto.getRandomValues(new Uint8Array(20));
    const code = [...raw].map((b) => BASE32[b & 31]).join("").match(/.{5}/g)!.join("-");
    const expires = this.clock.now() + INVITE_DAYS * 86400_000;
    await this.store.addInvite(await hashOf(code), by, expires);
    return { code, expires };
  }

  /**
   * Uses up `code`: who made it and a way to give it back (a registration that failed after taking
   * it), or null when it is unknown, used or expired.
   */
  async take(code: string): Promise<{ by: string; giveBack: () => Promise<void> } | null> {
    const hash = await hashOf(code);
    const row = await this.store.takeInvite(hash, this.clock.now());
    if (!row) return null;
    return { by: row.by, giveBack: () => this.store.addInvite(hash, row.by, row.expires) };
  }
}

function hashOf(code: string): Promise<string> {
  const canonical = code.toLowerCase().replace(/[^a-z0-9]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
  return sha256Hex(`invite\0${canonical}`);
}
