/**
 * Key chores of the encrypting client, separate from message handling (e2e/codec.ts):
 * - this folder's device key (issue 33) and the proofs made with it: `deviceAuth` for the requests that
 *   need a proven device (key uploads), `loginProof` for a password login through a lockout (issue 69
 *   D1, start/login_again.ts), and the device id the server gave the folder (`deviceOf`);
 * - `publishKeys()`: on login, create device keys if absent and publish identity + signed prekey
 *   + one-time prekeys (`keys.publish`); rotate the signed prekey when due; refill one-time
 *   prekeys when the server holds fewer than OPK_LOW (also on the server's "keys.low" notice).
 *   Every upload and count carries this folder's own device key and its proof for the session
 *   (`deviceAuth`, issue 33); a new linked device's first one, the approval the link gave it.
 * - the inner payload of every encrypted body (JSON: chat text, a setting, a room key), bound to the mid;
 * - readable errors: `keyChangedError()` names both safety numbers and the way out;
 * - `keyToPin()`: the key a `verify`/`trust` binds to (pending_keys.ts), its refusals as errors;
 *   `showKeyNumbers` and `pinChosenKey`: the safety numbers shown (the key shown recorded) and the one
 *   key pinned, over a `KeyBook`: both modes' is `contactBook`, DmManager's contacts (peer mode's are
 *   its peer records, peer/store.ts);
 * - `keyOps()`: the `KeyOps` of an attached codec: safety numbers (`fingerprint`; shown numbers are
 *   recorded so a later `verify` without a number binds to the key shown), pinning a contact's key
 *   (`verify`, `trust`), and the signed records of room membership changes (`signChange`, `logEntry`:
 *   e2e/room_log.ts), each under the folder's lock (`serial`).
 */
import { lineProblem } from "../../common/words.ts";
import { NAME_RE } from "../../protocol/names.ts";
import { UNSAFE } from "../../common/sanitize.ts";
import { utf8, utf8Strict } from "../../common/bytes.ts";
import {
  currentUpload,
  ensureDeviceKeys,
  loadIdentity,
  OPK_BATCH,
  replenishOneTimePrekeys,
  rotateSignedPrekeyIfDue,
} from "../../crypto/keystore.ts";
import { identityBytes, type PublicIdentity, publicIdentity } from "../../crypto/identity.ts";
import { chooseKey, type KeyCandidates, markShown, waitingKeys } from "../../crypto/pending_keys.ts";
import { signMembershipChange } from "../../crypto/membership.ts";
import { fingerprintHalf, formatSafetyNumber, identitySafetyNumber } from "../../crypto/safety_number.ts";
import type { DeviceLists, E2eDirectory, Request } from "./dm_seal.ts";
import { isSenderKeyDistribution, type SenderKeyDistribution } from "../../crypto/sender_keys.ts";
import type { CryptoStateStore } from "../../crypto/state_store.ts";
import { type DeviceKey, newDeviceKey, signDeviceProof } from "../../crypto/device_link.ts";
import { BackendError, type Fingerprint } from "../backend.ts";
import type { KeyOps, Setting } from "./body_codec.ts";
import type { RoomLogs } from "./room_log.ts";
import type { Clock } from "../../common/clock.ts";

/** What the key operations use: this folder's keystore, contacts, directory, device lists and room logs. */
export interface KeyParts {
  readonly me: string;
  readonly cs: CryptoStateStore;
  readonly clock: Clock;
  readonly dm: ContactKeys;
  readonly dir: Pick<E2eDirectory, "pin">;
  readonly devices: Pick<DeviceLists, "of">;
  readonly logs: Pick<RoomLogs, "entry">;
}

/** Who this session is, for device proofs: the account and the nonce of the server's hello reply. */
export interface SessionId {
  /** the account */
  user: string;
  /** the server's nonce for this session */
  nonce: string;
}

/** This folder's own device key (issue 33), made on first use; never moves to another folder. */
export async function deviceKeyOf(store: CryptoStateStore): Promise<DeviceKey> {
  const had = (await store.get("e2e:devkey")) as DeviceKey | undefined;
  if (had) return had;
  const k = await newDeviceKey();
  await store.commit({ put: { "e2e:devkey": k }, del: [] });
  return k;
}

/** The `deviceKey` and `proof` fields that show the server this session is device `device`. */
export async function deviceAuth(
  store: CryptoStateStore,
  who: SessionId,
  device: number,
): Promise<{ deviceKey: string; proof: string }> {
  const k = await deviceKeyOf(store);
  return { deviceKey: k.pub, proof: await signDeviceProof(k, who.user, device, who.nonce) };
}

/**
 * A password login's proof that it comes from this folder's device `device` (issue 69 D1: the server
 * lets it through a lockout, as a resume token); null for a device the server has not numbered yet.
 */
export async function loginProof(
  store: CryptoStateStore,
  who: SessionId,
  device: number,
): Promise<{ device: number; deviceKey: string; proof: string } | null> {
  return device > 0 ? { device, ...(await deviceAuth(store, who, device)) } : null;
}

/** This folder's device id (1 for a folder made before devices existed; 0 until the server assigns one). */
export async function deviceOf(store: CryptoStateStore): Promise<number> {
  return ((await store.get("e2e:device")) as number | undefined) ?? 1;
}

/** Refill one-time prekeys when the server holds fewer than this. */
export const OPK_LOW = 10;

/**
 * Publishes what the server lacks; returns the number of one-time prekeys it holds afterwards.
 * A new linked device (`e2e:device` 0) learns its id from the answer; `e2e:reset` asks the server
 * to make this folder's identity the account's (every other device is removed).
 */
export async function publishKeys(
  store: CryptoStateStore,
  request: Request,
  now: number,
  who: SessionId,
): Promise<number> {
  const device = await deviceOf(store);
  const reset = (await store.get("e2e:reset")) === true;
  const name = await store.get("e2e:name");
  const approval = device === 0 ? await store.get("e2e:approval") : undefined;
  const auth = await deviceAuth(store, who, device);
  const publish = async (fields: Record<string, unknown>) => {
    const r = await request("keys.publish", {
      ...fields,
      device,
      ...auth,
      ...(approval ? { approval } : {}),
      ...(reset ? { reset: true } : {}),
      ...(typeof name === "string" && name ? { name } : {}),
    });
    const got = Number(r.header.device ?? device);
    await store.commit({
      put: { "e2e:published": true, "e2e:device": got },
      del: [...(reset ? ["e2e:reset"] : []), ...(approval ? ["e2e:approval"] : [])],
    });
    return Number(r.header.prekeys ?? 0);
  };
  const fresh = await ensureDeviceKeys(store, now, OPK_BATCH);
  if (fresh) return await publish({ ...fresh });
  if (!(await store.get("e2e:published")) || reset) {
    // Keys were made but never reached this server (or the upload failed): send them again.
    return await publish({
      ...(await currentUpload(store)),
      opks: await replenishOneTimePrekeys(store, OPK_BATCH),
    });
  }
  const spk = await rotateSignedPrekeyIfDue(store, now);
  if (spk) await request("keys.publish", { ...(await currentUpload(store)), opks: [], device, ...auth });
  const n = Number((await request("keys.count", { device, ...auth })).header.prekeys ?? 0);
  return n < OPK_LOW ? await refillPrekeys(store, request, who) : n;
}

/** Makes and publishes a batch of one-time prekeys. */
export async function refillPrekeys(
  store: CryptoStateStore,
  request: Request,
  who: SessionId,
): Promise<number> {
  const opks = await replenishOneTimePrekeys(store, OPK_BATCH);
  const device = await deviceOf(store);
  const r = await request("keys.publish", {
    ...(await currentUpload(store)),
    opks,
    device,
    ...(await deviceAuth(store, who, device)),
  });
  return Number(r.header.prekeys ?? 0);
}

/**
 * The safety numbers `me` (key `mine`) compares with `user`, whose keys are `c`: the first key waiting
 * for a decision, else the pinned one, and those of further new keys (`others`) — for both modes.
 */
export async function keyNumbers(
  me: string,
  mine: PublicIdentity,
  user: string,
  c: KeyCandidates,
): Promise<{ safetyNumber: string; others?: string[] }> {
  const numberOf = async (k: PublicIdentity) =>
    formatSafetyNumber(await identitySafetyNumber(me, mine, user, k), 12);
  const [first, ...others] = waitingKeys(c);
  return {
    safetyNumber: await numberOf(first ?? c.identity),
    ...(others.length ? { others: await Promise.all(others.map(numberOf)) } : {}),
  };
}

/** My own fingerprint: the 30-digit half of every safety number that is mine, in groups of five. */
export async function ownFingerprint(store: CryptoStateStore, me: string): Promise<string> {
  const id = publicIdentity(await loadIdentity(store));
  return formatSafetyNumber(await fingerprintHalf(utf8.encode(me), identityBytes(id)), 6);
}

/** The warning when `user` presented several new keys: `others` are the further ones' numbers. */
export function othersWarning(user: string, others: string[], verify: string): string {
  return `WARNING: ${user} presented ${others.length + 1} different new keys; the others' safety numbers: ${
    others.join("; ")
  }. At most one is really ${user}'s: ask ${user} for the number and run "${verify} ${user} NUMBER"`;
}

/** A contact's keys and verification (DmManager's `ContactRecord`, lib/crypto/dm.ts). */
export type KeyRecord = KeyCandidates & { verified: boolean };

/** Where contacts' keys are kept (`contactBook`: DmManager's, in both modes). */
export interface KeyBook {
  /** Whose book it is (the safety numbers are counted with my name and key). */
  readonly me: string;
  /** My identity key. */
  mine(): Promise<PublicIdentity>;
  /** The keys of `user` (the pinned one, those waiting, the one last shown). */
  keys(user: string): Promise<KeyRecord>;
  /** Keeps `rec` as `user`'s (the key shown moved). */
  keep(user: string, rec: KeyRecord): Promise<void>;
  /** Pins `key` alone (every other key forgotten, sessions with another key gone; pending_keys.ts `pinnedKey`). */
  pin(user: string, key: PublicIdentity, verified: boolean): Promise<void>;
}

/**
 * The safety numbers the book's owner compares with `user` (`keyNumbers`); `shown`: the user sees them
 * to compare, so the key shown is recorded and a later `verify` without a number binds to it.
 */
export async function showKeyNumbers(
  book: KeyBook,
  user: string,
  shown: boolean,
): Promise<Fingerprint> {
  const c = await book.keys(user);
  const marked = shown ? markShown(c) : null;
  if (marked) await book.keep(user, marked);
  const numbers = await keyNumbers(book.me, await book.mine(), user, c);
  return { user, ...numbers, verified: c.verified, changed: c.pending !== undefined };
}

/** Pins the one key of `user` that `number` (or the number last shown) names (`keyToPin`). */
export async function pinChosenKey(
  book: KeyBook,
  user: string,
  number: string | undefined,
  verified: boolean,
): Promise<void> {
  const key = await keyToPin(book.me, await book.mine(), user, await book.keys(user), number, verified);
  await book.pin(user, key, verified);
}

/**
 * The key of `user` that `verify` (`verified`) or `trust` pins: the one whose safety number is
 * `number`, or without it the one whose number was last shown; a clear error when none is sure.
 */
export async function keyToPin(
  me: string,
  mine: PublicIdentity,
  user: string,
  rec: KeyCandidates,
  number: string | undefined,
  verified: boolean,
): Promise<PublicIdentity> {
  const cmd = verified ? "verify" : "trust";
  const choice = await chooseKey(rec, {
    number,
    needShown: verified,
    numberOf: (k) => identitySafetyNumber(me, mine, user, k),
  });
  if ("key" in choice) return choice.key;
  const again = choice.refused === "ambiguous"
    ? `ask ${user} for the safety number`
    : `compare the safety number with ${user} ("fingerprint ${user}")`;
  const [code, text] = {
    bad_number: ["bad_number", `"${number}" is not a safety number (60 digits)`],
    no_match: ["number_mismatch", `${number} is not the safety number of any key ${user} presented`],
    ambiguous: ["keys_ambiguous", `${user} presented more than one new key, so ${cmd} needs the number`],
    not_shown: ["not_compared", `No safety number with ${user} was shown yet`],
    changed: ["key_changed", `The key of ${user} changed since its safety number was shown`],
  }[choice.refused];
  const next = choice.refused === "ambiguous"
    ? `"${cmd} ${user} NUMBER"`
    : `"${cmd} ${user}" (or "${cmd} ${user} NUMBER")`;
  return Promise.reject(new BackendError(code!, `${text}: nothing was pinned; ${again}, then run ${next}`));
}

/** What an encrypted body carries once opened. */
export type Payload =
  | { v: 1; k: "text"; mid: string; text: string; re?: string; rb?: string; x?: number; at?: number }
  | { v: 1; k: "expire"; mid: string; seconds: number; at?: number }
  | TopicPayload
  | { v: 1; k: "skd"; mid: string; dist: SenderKeyDistribution }
  | ChangePayload;

/**
 * A room's topic ("" clears it). `at`: when it was first set, on a re-send to a member invited later
 * (no later than its envelope's time; the newest setting wins by that time).
 */
export type TopicPayload = { v: 1; k: "topic"; mid: string; text: string; at?: number };

/** A change of the message `ref` (issue 39), sealed and delivered like a message, never shown as one. */
export type ChangePayload =
  | { v: 1; k: "edit"; mid: string; ref: string; by?: string; text: string; at?: number }
  | { v: 1; k: "delete"; mid: string; ref: string; by?: string }
  | { v: 1; k: "react"; mid: string; ref: string; by?: string; emoji: string; on: boolean };

const MID_RE = /^[A-Za-z0-9_-]{8,64}$/;
/** Disappearing times: whole seconds up to a year (0: off, where allowed). */
export const MAX_EXPIRY_S = 366 * 86400;
const isExpiry = (x: unknown, min: number) =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= MAX_EXPIRY_S;
/** The longest topic a room takes, in code points. */
export const TOPIC_MAX = 300;

/** Why `text` cannot be a room's topic (more than TOPIC_MAX code points, a line break), or null when it can. */
export const topicProblem = (text: string): string | null => lineProblem("A topic", text, TOPIC_MAX);

/** An emoji reaction: 1 to 32 code points, no white space and nothing unsafe to show (common/sanitize.ts). */
const isEmoji = (e: string) => [...e].length >= 1 && [...e].length <= 32 && !/\s/.test(e) && !UNSAFE.test(e);

/**
 * A text's payload: what it answers (`re`, sent by `rb`: issue 69 N2), its disappearing time (`x`)
 * and the sender's clock when sealed (`at`, ms: issue 69 N4 — the server's stamp does not alone say
 * when it disappears).
 */
export function textPayload(
  mid: string,
  text: string,
  o: { replyTo?: string; replyBy?: string; ttl?: number; at?: number },
): Payload {
  const re = o.replyTo ? { re: o.replyTo, ...(o.replyBy ? { rb: o.replyBy } : {}) } : {};
  return { v: 1, k: "text", mid, text, ...re, ...(o.ttl ? { x: o.ttl } : {}), ...(o.at ? { at: o.at } : {}) };
}

/** A setting's payload (its disappearing time, a room's topic), with when it was first set (`at`) if given. */
export function settingPayload(mid: string, s: Setting): Payload {
  const at = s.at !== undefined ? { at: s.at } : {};
  return s.kind === "expire"
    ? { v: 1, k: "expire", mid, seconds: s.seconds, ...at }
    : { v: 1, k: "topic", mid, text: s.text, ...at };
}

/** An opened body's bytes: its JSON. */
export function encodePayload(p: Payload): Uint8Array {
  return utf8.encode(JSON.stringify(p));
}

/**
 * Parses an opened body and checks it belongs to the message id it arrived under. `bare`: a body that
 * is no versioned payload is the text itself (a peer of an earlier version sends the bare text).
 */
export function decodePayload(b: Uint8Array, mid: string, bare = false): Payload {
  let text: string | undefined, p: Record<string, unknown> | null = null;
  try {
    text = utf8Strict.decode(b);
    p = JSON.parse(text);
  } catch {
    if (!bare || text === undefined) throw new SyntaxError("The decrypted message is not a Parley payload");
  }
  if (bare && (typeof p !== "object" || p === null || !("v" in p))) {
    return { v: 1, k: "text", mid, text: text! };
  }
  if (typeof p !== "object" || p === null || p.v !== 1) throw new SyntaxError("Unknown payload version");
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  if (p.k === "text" && typeof p.text === "string") {
    if (p.re !== undefined && (typeof p.re !== "string" || !MID_RE.test(p.re))) {
      throw new SyntaxError("A reply names a malformed message id");
    }
    if (p.rb !== undefined && (typeof p.rb !== "string" || !NAME_RE.test(p.rb) || p.re === undefined)) {
      throw new SyntaxError("A reply names a malformed sender");
    }
    if (p.x !== undefined && !isExpiry(p.x, 1)) throw new SyntaxError("A malformed disappearing time");
  }
  if (p.at !== undefined && !(Number.isSafeInteger(p.at) && (p.at as number) > 0)) {
    throw new SyntaxError("A payload with a malformed time");
  }
  if (p.k === "text" && typeof p.text === "string") return p as Payload;
  if (p.k === "expire") {
    if (!isExpiry(p.seconds, 0)) throw new SyntaxError("A malformed disappearing time");
    return p as Payload;
  }
  if (p.k === "topic") {
    if (typeof p.text !== "string" || topicProblem(p.text)) throw new SyntaxError("A malformed topic");
    return p as Payload;
  }
  if (p.k === "edit" || p.k === "delete" || p.k === "react") {
    if (typeof p.ref !== "string" || !MID_RE.test(p.ref)) {
      throw new SyntaxError("A change names a malformed message id");
    }
    if (p.by !== undefined && (typeof p.by !== "string" || !NAME_RE.test(p.by))) {
      throw new SyntaxError("A change names a malformed sender");
    }
    if (p.k === "edit" && typeof p.text !== "string") throw new SyntaxError("An edit without text");
    if (
      p.k === "react" && (typeof p.emoji !== "string" || !isEmoji(p.emoji) || typeof p.on !== "boolean")
    ) {
      throw new SyntaxError("A malformed reaction");
    }
    return p as Payload;
  }
  if (p.k === "skd" && isSenderKeyDistribution(p.dist)) return p as Payload;
  throw new SyntaxError("Unknown payload kind");
}

/** The key operations of `p`, each under the folder's lock through `serial`. */
export function keyOps(p: KeyParts, serial: <T>(fn: () => Promise<T>) => Promise<T>): KeyOps {
  return {
    fingerprint: (u) => serial(() => fingerprint(p, u, true)),
    verify: (u, n) => serial(() => accept(p, u, n, true)),
    trust: (u, n) => serial(() => accept(p, u, n, false)),
    signChange: (room, action, target) =>
      serial(async () =>
        signMembershipChange(await loadIdentity(p.cs), {
          room,
          action,
          target,
          by: p.me,
          epoch: 0,
          at: p.clock.now(),
        })
      ),
    // Leaving is always possible: with a log this client cannot verify, the leave carries no entry.
    // "enter" (a self-join) is signed on the open room's log the server gives a joiner (room_log.ts).
    logEntry: (room, action, target) =>
      serial(() =>
        p.logs.entry(p.me, room, action, target).catch((e) => {
          if (action === "leave" && e instanceof BackendError && e.code === "membership") return undefined;
          throw e;
        })
      ),
  };
}

/** What a key book uses of DmManager (lib/crypto/dm.ts). */
export interface ContactKeys {
  /** Whose contacts they are. */
  readonly me: string;
  /** Where they are kept (my identity key too). */
  readonly store: CryptoStateStore;
  /** The keys of `user`, if any. */
  contact(user: string): Promise<KeyRecord | undefined>;
  /** Pins exactly `key` for `user` (every other key forgotten; sessions with another key gone, with each of `devices`). */
  accept(user: string, key: PublicIdentity, verified: boolean, devices?: readonly number[]): Promise<void>;
}

/**
 * The key book of both modes: `dm`'s contacts (peer mode's are its peer records, peer/store.ts). A pin
 * drops the sessions made with another key, with each of the user's `devices` (peer mode: one).
 */
export function contactBook(
  dm: ContactKeys,
  devices: (user: string) => Promise<readonly number[]> = () => Promise.resolve([1]),
): KeyBook {
  return {
    me: dm.me,
    mine: async () => publicIdentity(await loadIdentity(dm.store)),
    keys: async (user) => (await dm.contact(user))!,
    keep: async (user, rec) => await dm.store.commit({ put: { [`contact:${user}`]: rec }, del: [] }),
    pin: async (user, key, verified) => await dm.accept(user, key, verified, await devices(user)),
  };
}

/** Pins the one key of `user` that `number` (or the number last shown) names; answers its number. */
async function accept(
  p: KeyParts,
  user: string,
  number: string | undefined,
  verified: boolean,
): Promise<Fingerprint> {
  await p.dir.pin(user);
  await pinChosenKey(contactBook(p.dm, (u) => p.devices.of(u)), user, number, verified);
  return await fingerprint(p, user);
}

/** `shown`: the number is displayed for comparing (the directory is asked again; the key is recorded). */
async function fingerprint(p: KeyParts, user?: string, shown = false): Promise<Fingerprint> {
  if (!user || user === p.me) {
    return { user: p.me, safetyNumber: await ownFingerprint(p.cs, p.me), verified: true, changed: false };
  }
  const known = await p.dm.contact(user);
  await p.dir.pin(user, shown && !known?.pending); // compare with what the directory holds now
  return await showKeyNumbers(contactBook(p.dm), user, shown);
}
