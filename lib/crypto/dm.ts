/**
 * The client's one-stop DM API over a `CryptoStateStore`: `encryptDm(peer, bundleOrNull, text)`
 * and `decryptDm(peer, envelope)`. Handles first contact (X3DH), trust on first use of the peer's
 * identity, key changes (`KeyChangedError` with both safety numbers; sending blocked until
 * `trust()` or `verify()`), replay rejection by message id, and simultaneous session starts (the
 * last few sessions are kept and tried).
 *
 * Envelope wire format v1:
 *   u8 version = 1 | message id (16 random bytes) | session message (see session.ts)
 * Session AD = "parley-dm-v1\0" ‖ lp(sender, recipient) ‖ version ‖ message id, so an envelope
 * cannot be replayed, re-addressed or spliced into another conversation.
 */

import { concatBytes, toHex, utf8 } from "../common/bytes.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { type PublicIdentity, publicIdentity, sameIdentity } from "./identity.ts";
import { loadIdentity } from "./keystore.ts";
import { type OneTimePrekey, type PrekeyBundle, type SignedPrekey, verifyBundle } from "./prekeys.ts";
import { DecryptError, lp } from "./primitives.ts";
import { ReplayError } from "./ratchet.ts";
import { identitySafetyNumber } from "./safety_number.ts";
import {
  acceptSession,
  initiateSession,
  parseSessionMessage,
  sessionDecrypt,
  sessionEncrypt,
  type SessionState,
} from "./session.ts";
import type { CryptoStateStore, StoreWrites } from "./state_store.ts";
import { BadBundleError } from "./x3dh.ts";

export const DM_VERSION = 1;
export const SEEN_IDS_KEPT = 1000;
export const ARCHIVED_SESSIONS = 4;

/** The peer's identity key differs from the pinned one; carries both safety numbers. */
export class KeyChangedError extends Error {
  constructor(
    readonly user: string,
    readonly oldSafetyNumber: string,
    readonly newSafetyNumber: string,
  ) {
    super(`Identity key of ${user} changed: verify and trust it before sending`);
    this.name = "KeyChangedError";
  }
}

/** No session with the peer and no bundle given (fetch one from the server). */
export class NoSessionError extends Error {
  constructor(user: string) {
    super(`No session with ${user}: a prekey bundle is needed`);
    this.name = "NoSessionError";
  }
}

export interface ContactRecord {
  identity: PublicIdentity;
  verified: boolean;
  /** a new identity seen but not yet accepted */
  pending?: PublicIdentity;
}

export interface SessionRecord {
  current: SessionState;
  archived: SessionState[];
}

export interface OpenedDm {
  plaintext: Uint8Array;
  msgId: string;
  /** commit these (atomically, with the message if wanted) to make the receipt stick */
  writes: StoreWrites;
}

export class DmManager {
  readonly store: CryptoStateStore;
  readonly me: string;
  readonly clock: Clock;
  readonly rand: RandomBytes;

  constructor(opts: { store: CryptoStateStore; me: string; clock?: Clock; rand?: RandomBytes }) {
    this.store = opts.store;
    this.me = opts.me;
    this.clock = opts.clock ?? systemClock;
    this.rand = opts.rand ?? cryptoRandom;
  }

  async contact(user: string): Promise<ContactRecord | undefined> {
    return (await this.store.get(`contact:${user}`)) as ContactRecord | undefined;
  }

  /** Safety number between me and `user` (pending key if one is waiting, else the pinned one). */
  async safetyNumber(user: string): Promise<string | undefined> {
    const c = await this.contact(user);
    if (!c) return undefined;
    const mine = publicIdentity(await loadIdentity(this.store));
    return identitySafetyNumber(this.me, mine, user, c.pending ?? c.identity);
  }

  async #keyChanged(user: string, c: ContactRecord, seen: PublicIdentity): Promise<KeyChangedError> {
    await this.store.commit({ put: { [`contact:${user}`]: { ...c, pending: seen } }, del: [] });
    const mine = publicIdentity(await loadIdentity(this.store));
    return new KeyChangedError(
      user,
      await identitySafetyNumber(this.me, mine, user, c.identity),
      await identitySafetyNumber(this.me, mine, user, seen),
    );
  }

  /** Accepts a changed key (pinning it) and drops sessions made with the old one. */
  async trust(user: string): Promise<void> {
    const c = await this.contact(user);
    if (!c?.pending) return;
    await this.store.commit({
      put: { [`contact:${user}`]: { identity: c.pending, verified: false } },
      del: [`session:${user}`],
    });
  }

  /** Marks the contact verified (after comparing safety numbers), accepting a pending key. */
  async verify(user: string): Promise<void> {
    await this.trust(user);
    const c = await this.contact(user);
    if (c) await this.store.commit({ put: { [`contact:${user}`]: { ...c, verified: true } }, del: [] });
  }

  #ad(sender: string, recipient: string, msgId: Uint8Array): Uint8Array {
    return concatBytes([
      utf8.encode("parley-dm-v1\0"),
      lp([utf8.encode(sender), utf8.encode(recipient)]),
      Uint8Array.of(DM_VERSION),
      msgId,
    ]);
  }

  /** Encrypts a DM; `bundle` is needed only when there is no session yet. */
  async encryptDm(user: string, bundle: PrekeyBundle | null, plaintext: Uint8Array): Promise<Uint8Array> {
    const c = await this.contact(user);
    if (c?.pending) throw await this.#keyChanged(user, c, c.pending);
    let rec = (await this.store.get(`session:${user}`)) as SessionRecord | undefined;
    const put: Record<string, unknown> = {};
    if (!rec) {
      if (!bundle) throw new NoSessionError(user);
      if (!(await verifyBundle(bundle))) throw new BadBundleError();
      if (c && !sameIdentity(c.identity, bundle.identity)) {
        throw await this.#keyChanged(user, c, bundle.identity);
      }
      if (!c) put[`contact:${user}`] = { identity: bundle.identity, verified: false } satisfies ContactRecord;
      const me = await loadIdentity(this.store);
      rec = { current: (await initiateSession(me, bundle)).state, archived: [] };
    }
    const msgId = this.rand(16);
    const r = await sessionEncrypt(rec.current, plaintext, this.#ad(this.me, user, msgId));
    put[`session:${user}`] = { ...rec, current: r.state } satisfies SessionRecord;
    await this.store.commit({ put, del: [] });
    return concatBytes([Uint8Array.of(DM_VERSION), msgId, r.message]);
  }

  /** Decrypts and commits; returns the plaintext. */
  async decryptDm(user: string, envelope: Uint8Array): Promise<Uint8Array> {
    const o = await this.openDm(user, envelope);
    await this.store.commit(o.writes);
    return o.plaintext;
  }

  /**
   * Decrypts without committing: the caller commits `writes` (with the message, atomically).
   * Throws `ReplayError`, `KeyChangedError`, `NoSessionError`, `DecryptError` or `SyntaxError`;
   * nothing is written on failure except the pending key of a `KeyChangedError` (written only for
   * an envelope that authenticates under the new key).
   */
  async openDm(user: string, envelope: Uint8Array): Promise<OpenedDm> {
    if (envelope.length < 18 || envelope[0] !== DM_VERSION) {
      throw new SyntaxError("Unknown DM envelope version");
    }
    const msgIdBytes = envelope.slice(1, 17);
    const msgId = toHex(msgIdBytes);
    const seen = ((await this.store.get(`seen:${user}`)) as string[] | undefined) ?? [];
    if (seen.includes(msgId)) throw new ReplayError();
    const body = envelope.subarray(17);
    const parsed = parseSessionMessage(body);
    const ad = this.#ad(user, this.me, msgIdBytes);
    const now = this.clock.now();
    const c = await this.contact(user);
    const rec = (await this.store.get(`session:${user}`)) as SessionRecord | undefined;
    const sessions = rec ? [rec.current, ...rec.archived] : [];
    const w: StoreWrites = { put: {}, del: [] };
    let result: { state: SessionState; plaintext: Uint8Array } | undefined;
    let index = -1;
    if (parsed.type === "prekey") {
      const sender = parsed.x3dh.identity;
      // A changed key is recorded as pending only once the envelope authenticates under it: a
      // tampered first message must not plant a key for trust() to accept.
      const changed = c !== undefined && !sameIdentity(c.identity, sender);
      index = changed ? -1 : sessions.findIndex((s) => s.base === parsed.x3dh.ek);
      if (index >= 0) result = await sessionDecrypt(sessions[index]!, body, ad, now);
      else {
        const me = await loadIdentity(this.store);
        const spk = (await this.store.get(`spk:${parsed.x3dh.spkId}`)) as SignedPrekey | undefined;
        const opkId = parsed.x3dh.opkId;
        const opk = opkId === undefined
          ? undefined
          : (await this.store.get(`opk:${opkId}`)) as OneTimePrekey | undefined;
        const lookup = {
          spk: (id: number) => (id === spk?.id ? spk : undefined),
          opk: (id: number) => (id === opk?.id ? opk : undefined),
        };
        const a = await acceptSession(me, lookup, body, ad, now);
        if (changed) throw await this.#keyChanged(user, c, sender);
        result = a;
        if (a.usedOpkId !== undefined) w.del.push(`opk:${a.usedOpkId}`);
        if (!c) w.put[`contact:${user}`] = { identity: sender, verified: false } satisfies ContactRecord;
      }
    } else {
      if (sessions.length === 0) throw new NoSessionError(user);
      let lastErr: unknown;
      for (let i = 0; i < sessions.length && !result; i++) {
        try {
          result = await sessionDecrypt(sessions[i]!, body, ad, now);
          index = i;
        } catch (e) {
          lastErr = e;
        }
      }
      if (!result) throw lastErr instanceof Error ? lastErr : new DecryptError();
    }
    const others = sessions.filter((_, i) => i !== index);
    w.put[`session:${user}`] = {
      current: result.state,
      archived: others.slice(0, ARCHIVED_SESSIONS),
    } satisfies SessionRecord;
    w.put[`seen:${user}`] = [...seen, msgId].slice(-SEEN_IDS_KEPT);
    return { plaintext: result.plaintext, msgId, writes: w };
  }
}
