/**
 * The client's one-stop DM API over a `CryptoStateStore`: `encryptDm(peer, bundleOrNull, text)`
 * and `decryptDm(peer, envelope)`. Handles first contact (X3DH), trust on first use of the peer's
 * identity, key changes (`KeyChangedError` with both safety numbers; sending blocked until
 * `trust()`, `verify()` or `accept()` of one exact key; a second new key is kept beside the first,
 * pending_keys.ts), replay rejection by message id, and simultaneous session starts (the
 * last few sessions are kept and tried).
 *
 * Envelope wire format v1:
 *   u8 version = 1 | message id (16 random bytes) | session message (see session.ts)
 * Session AD = "parley-dm-v1\0" ‖ lp(sender, recipient) ‖ version ‖ message id, so an envelope
 * cannot be replayed, re-addressed or spliced into another conversation.
 *
 * Linked devices: sessions, replay records and the AD are per device ADDRESS ("bob" is device 1,
 * "bob/2" device 2: `deviceAddress`); the identity pin is per user (every device of an account
 * shares its identity key). My own other devices are checked against my own identity key.
 */

import { concatBytes, toHex, utf8 } from "../common/bytes.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { type PublicIdentity, publicIdentity, sameIdentity } from "./identity.ts";
import { addPendingKey, type KeyCandidates, pinnedKey, waitingKeys } from "./pending_keys.ts";
import { loadIdentity } from "./keystore.ts";
import type { OneTimePrekey, PrekeyBundle, SignedPrekey } from "./prekeys.ts";
import { verifyBundle } from "./prekey_verify.ts";
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
import { deviceAddress, parseDeviceAddress } from "../common/device_address.ts";

export const DM_VERSION = 1;
export const SEEN_IDS_KEPT = 1000;
export const ARCHIVED_SESSIONS = 4;

/** The peer's identity key differs from the pinned one; carries both safety numbers. */
export class KeyChangedError extends Error {
  constructor(
    readonly user: string,
    readonly oldSafetyNumber: string,
    readonly newSafetyNumber: string,
    /** how many different new keys wait (more than one: the comparison must name the number) */
    readonly waiting = 1,
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

/** A pinned contact; `pending`, `others` and `shown` follow pending_keys.ts. */
export interface ContactRecord extends KeyCandidates {
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

  /** My device address (AD and the sessions my other devices keep with me). */
  readonly self: string;

  constructor(
    opts: { store: CryptoStateStore; me: string; device?: number; clock?: Clock; rand?: RandomBytes },
  ) {
    this.store = opts.store;
    this.me = opts.me;
    this.self = deviceAddress(opts.me, opts.device ?? 1);
    this.clock = opts.clock ?? systemClock;
    this.rand = opts.rand ?? cryptoRandom;
  }

  /** The pinned identity of `user` (an address names its user). */
  async contact(user: string): Promise<ContactRecord | undefined> {
    return (await this.store.get(`contact:${parseDeviceAddress(user).user}`)) as ContactRecord | undefined;
  }

  /** A key claimed by one of my own devices must be my own identity key. */
  async #checkOwn(seen: PublicIdentity): Promise<void> {
    if (!sameIdentity(publicIdentity(await loadIdentity(this.store)), seen)) {
      throw new BadBundleError(
        "A device of your account has another identity key: remove it (device remove)",
      );
    }
  }

  /** Safety number between me and `user` (pending key if one is waiting, else the pinned one). */
  async safetyNumber(user: string): Promise<string | undefined> {
    const c = await this.contact(user);
    if (!c) return undefined;
    const mine = publicIdentity(await loadIdentity(this.store));
    return identitySafetyNumber(this.me, mine, user, c.pending ?? c.identity);
  }

  async #keyChanged(user: string, c: ContactRecord, seen: PublicIdentity): Promise<KeyChangedError> {
    const next = addPendingKey(c, seen); // a second new key never replaces the first (pending_keys.ts)
    if (next !== c) await this.store.commit({ put: { [`contact:${user}`]: next }, del: [] });
    const mine = publicIdentity(await loadIdentity(this.store));
    return new KeyChangedError(
      user,
      await identitySafetyNumber(this.me, mine, user, c.identity),
      await identitySafetyNumber(this.me, mine, user, seen),
      waitingKeys(next).length,
    );
  }

  /** Accepts a changed key (pinning it) and drops sessions made with the old one (with each of `devices`). */
  async trust(user: string, devices: readonly number[] = [1]): Promise<void> {
    const c = await this.contact(user);
    if (!c?.pending) return;
    await this.accept(user, c.pending, false, devices);
  }

  /**
   * Pins exactly `key` for `user` (chosen with pending_keys.ts `chooseKey`), forgetting every other
   * waiting key; `verified` after comparing its safety number, which counts as shown. Sessions made
   * with another key go (with each of `devices`).
   */
  async accept(user: string, key: PublicIdentity, verified: boolean, devices: readonly number[] = [1]) {
    const c = await this.contact(user);
    const same = c !== undefined && sameIdentity(c.identity, key);
    await this.store.commit({
      put: { [`contact:${user}`]: pinnedKey(c, key, verified) },
      del: same ? [] : [...new Set([1, ...devices])].map((d) => `session:${deviceAddress(user, d)}`),
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
    const name = parseDeviceAddress(user).user;
    const own = name === this.me;
    const c = own ? undefined : await this.contact(user);
    if (c?.pending) throw await this.#keyChanged(name, c, c.pending);
    let rec = (await this.store.get(`session:${user}`)) as SessionRecord | undefined;
    const put: Record<string, unknown> = {};
    if (!rec) {
      if (!bundle) throw new NoSessionError(user);
      if (!(await verifyBundle(bundle))) throw new BadBundleError();
      if (own) await this.#checkOwn(bundle.identity);
      else if (c && !sameIdentity(c.identity, bundle.identity)) {
        throw await this.#keyChanged(name, c, bundle.identity);
      }
      if (!c && !own) {
        put[`contact:${name}`] = { identity: bundle.identity, verified: false } satisfies ContactRecord;
      }
      const me = await loadIdentity(this.store);
      rec = { current: (await initiateSession(me, bundle)).state, archived: [] };
    }
    const msgId = this.rand(16);
    const r = await sessionEncrypt(rec.current, plaintext, this.#ad(this.self, user, msgId));
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
   * nothing is written on failure except the pending key of a `KeyChangedError`.
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
    const ad = this.#ad(user, this.self, msgIdBytes);
    const now = this.clock.now();
    const name = parseDeviceAddress(user).user;
    const own = name === this.me;
    const c = own ? undefined : await this.contact(user);
    const rec = (await this.store.get(`session:${user}`)) as SessionRecord | undefined;
    const sessions = rec ? [rec.current, ...rec.archived] : [];
    const w: StoreWrites = { put: {}, del: [] };
    let result: { state: SessionState; plaintext: Uint8Array } | undefined;
    let index = -1;
    if (parsed.type === "prekey") {
      const sender = parsed.x3dh.identity;
      if (own) await this.#checkOwn(sender);
      // A different key counts only once the message decrypts under it: a forged or damaged header
      // must not mark the contact as changed (which blocks sending to them).
      const changed = !own && c !== undefined && !sameIdentity(c.identity, sender);
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
        if (changed) throw await this.#keyChanged(name, c!, sender); // genuine: signed by the new key's holder
        result = a;
        if (a.usedOpkId !== undefined) w.del.push(`opk:${a.usedOpkId}`);
        if (!c && !own) {
          w.put[`contact:${name}`] = { identity: sender, verified: false } satisfies ContactRecord;
        }
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
