/**
 * The DM sealer: pairwise sessions to every device of a user, the device lists they go to, and the
 * directory they come from (issue 9; the server's directory read through `Request`, e2e/keys.ts).
 *
 * - `DeviceLists`: device ids per user, from the server's `users` list (each user's at most once per
 *   connection), the `devices` pushes, `keys.fetch` replies and a `devices_changed` refusal of a
 *   send; kept in the crypto store so the next process starts from them. `targets(user)` is where a
 *   DM to `user` goes: every device of `user` and my other devices (never this one). A room's seal
 *   asks for its members' `current()` lists: read again once per connection (only theirs: `users`
 *   with `names`), since a device linked while this client was away was pushed to no one here, and
 *   no refusal would tell (a DM's `devices_changed` does).
 * - `E2eDirectory`: every registered user, prekey bundles from `keys.fetch` (refused unless validly
 *   signed; kept until a session exists), pinning a user's identity key on first use (a different key
 *   later is recorded as pending, beside any key already waiting: pending_keys.ts). It holds no lock:
 *   `E2eCodec` calls it under its own. (Room members are decided by the signed log, e2e/room_log.ts.)
 * - DM body v2: JSON `{"v":2,"d":<sender device>,"to":{"<address>":"<base64 envelope>"}}`, each
 *   envelope a v1 DM envelope (dm.ts) whose AD names the sender's and the recipient's device
 *   addresses, so a part cannot be moved to another device or claimed by another sender device.
 *   A v1 body (one envelope, device 1 to device 1) is still sent when that is all there is.
 * - Sealing: a DM payload encrypted with the Double Ratchet (`DmManager`) to every device of its
 *   recipient and my other devices, one part each in a v2 body, or one v1 envelope between two first
 *   devices (peer mode's every DM: one device per user, the bundle from the peer's hello; `DmDevices`,
 *   `DmBundles`, peer/codec.ts). The first message to a device starts its session from a prekey bundle
 *   (X3DH). A changed identity key refuses the seal (`keyChangedError`; peer mode's refusal is its own,
 *   `keyChanged`). Signals (typing, watch together) go to every
 *   device of the recipient too, a session started once per device list (`sealDmSignal`). Opening:
 *   `openDmPart`, the part for this device. Runs under the folder's lock; never sends.
 */
import { fromBase64, toBase64, utf8, utf8Strict } from "../../common/bytes.ts";
import { deviceAddress, parseDeviceAddress } from "../../common/device_address.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import { type DmManager, KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { addPendingKey } from "../../crypto/pending_keys.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import { verifyBundle } from "../../crypto/prekey_verify.ts";
import { BackendError } from "../backend.ts";
import { USERS_NAMES_MAX } from "../../protocol/messages.ts";
import { formatSafetyNumber } from "../../crypto/safety_number.ts";

export class DeviceLists {
  readonly #lists = new Map<string, number[]>();
  /** Every list was read from the server on this connection (its pushes keep them so since). */
  #current = false;
  /** The users whose lists were read on this connection (when not every one was). */
  readonly #read = new Set<string>();

  constructor(
    readonly request: Request,
    readonly cs: CryptoStateStore,
    readonly me: string,
    readonly device: number,
  ) {}

  get self(): string {
    return deviceAddress(this.me, this.device);
  }

  /** Device ids of `user` (at least device 1 until the server says otherwise). */
  async of(user: string): Promise<number[]> {
    let l = this.#lists.get(user) ?? (await this.cs.get(`devices:${user}`)) as number[] | undefined;
    if (!l && !this.#current && !this.#read.has(user)) {
      await this.refresh([user]);
      l = this.#lists.get(user);
    }
    return l && l.length ? l : [1];
  }

  async addresses(user: string): Promise<string[]> {
    return (await this.of(user)).map((d) => deviceAddress(user, d));
  }

  /** Reads the lists of `users` (every user's when not given) not read on this connection yet. */
  async current(users?: readonly string[]): Promise<void> {
    if (this.#current) return;
    if (!users) return await this.refresh();
    const missing = [...new Set(users)].filter((u) => !this.#read.has(u));
    if (missing.length) await this.refresh(missing);
  }

  /** A new connection: what was pushed while away was missed. */
  stale(): void {
    this.#current = false;
    this.#read.clear();
  }

  /** Reads the devices of `names` (of every user when not given) from the server's user list. */
  async refresh(names?: readonly string[]): Promise<void> {
    if (!names) this.#current = true;
    for (let i = 0; i < (names?.length ?? 1); i += USERS_NAMES_MAX) {
      const some = names?.slice(i, i + USERS_NAMES_MAX);
      const us = await this.request("users", some ? { names: some } : {}).then((r) => r.header.users, (e) => {
        // A server before 0.14 takes no `names`: then every user's, once for the connection.
        if (some && e instanceof BackendError && e.code === "invalid") return this.refresh().then(() => null);
        throw e;
      });
      if (us === null) return;
      for (const u of some ?? []) this.#read.add(u); // one the server does not list does not exist
      if (!Array.isArray(us)) continue;
      for (const u of us as { user?: unknown; devices?: unknown }[]) {
        if (typeof u?.user === "string" && Array.isArray(u.devices)) await this.set(u.user, u.devices);
      }
    }
  }

  /** Records `user`'s devices (kept when unchanged). */
  async set(user: string, devices: unknown[]): Promise<void> {
    const l = devices.filter((d): d is number => Number.isInteger(d) && (d as number) > 0).sort((a, b) =>
      a - b
    );
    const old = this.#lists.get(user) ?? (await this.cs.get(`devices:${user}`)) as number[] | undefined;
    this.#lists.set(user, l);
    if (!old || old.join() !== l.join()) await this.cs.commit({ put: { [`devices:${user}`]: l }, del: [] });
  }

  /** Applies the lists a `devices_changed` refusal carried. */
  async apply(detail: unknown): Promise<void> {
    if (!detail || typeof detail !== "object") return;
    for (const [user, l] of Object.entries(detail as Record<string, unknown>)) {
      if (Array.isArray(l)) await this.set(user, l);
    }
  }

  /** This is my only device, as far as this process already knows (memory only: no read, no lock). */
  get alone(): boolean {
    const l = this.#lists.get(this.me);
    return l !== undefined && l.every((d) => d === this.device);
  }

  /** Where a DM to `user` goes: every device of `user` and my other devices, never this one. */
  async targets(user: string): Promise<string[]> {
    const all = new Set([...await this.addresses(user), ...await this.addresses(this.me)]);
    all.delete(this.self);
    return [...all];
  }
}

export interface MultiBody {
  /** The sender's device. */
  d: number;
  /** Address → v1 envelope. */
  to: Record<string, Uint8Array>;
}

export function encodeMultiBody(senderDevice: number, parts: Map<string, Uint8Array>): Uint8Array {
  const to: Record<string, string> = {};
  for (const [a, b] of parts) to[a] = toBase64(b);
  return utf8.encode(JSON.stringify({ v: 2, d: senderDevice, to }));
}

/** The parts of a v2 body; null for a v1 envelope (it starts with byte 1, not "{"). */
export function decodeMultiBody(body: Uint8Array): MultiBody | null {
  if (body[0] !== 0x7b) return null;
  let j: { v?: unknown; d?: unknown; to?: unknown };
  try {
    j = JSON.parse(utf8Strict.decode(body));
  } catch {
    throw new SyntaxError("The message body is not a Parley DM");
  }
  if (j.v !== 2 || !Number.isInteger(j.d) || (j.d as number) < 1 || !j.to || typeof j.to !== "object") {
    throw new SyntaxError("Unknown DM body version");
  }
  const to: Record<string, Uint8Array> = {};
  for (const [a, b] of Object.entries(j.to as Record<string, unknown>)) {
    if (typeof b !== "string") throw new SyntaxError("A DM part is not base64");
    try {
      to[a] = fromBase64(b);
    } catch {
      throw new SyntaxError("A DM part is not base64");
    }
  }
  return { d: j.d as number, to };
}

export class E2eDirectory {
  /** Bundles fetched for users without a session yet. */
  readonly bundles = new Map<string, PrekeyBundle>();

  constructor(readonly request: Request, readonly dm: DmManager, readonly cs: CryptoStateStore) {}

  async everyone(): Promise<string[]> {
    return ((await this.request("users")).header.users as { user: string }[]).map((u) => u.user);
  }

  /** The bundle of one device of `user` (device 1 unless given), kept by its device address. */
  async fetchBundle(user: string, device?: number): Promise<PrekeyBundle> {
    const h = (await this.request("keys.fetch", { user, ...(device ? { device } : {}) })).header;
    const list = Array.isArray(h.bundles) ? h.bundles as (PrekeyBundle & { device?: number })[] : [];
    const found = list.find((x) => x.device === (device ?? x.device)) ?? h.bundle;
    const { device: d, ...b } = (found ?? {}) as PrekeyBundle & { device?: number };
    if (!found || !(await verifyBundle(b as PrekeyBundle))) {
      throw new BackendError("bad_bundle", `The keys the server gave for ${user} are not validly signed`);
    }
    this.bundles.set(deviceAddress(user, d ?? device ?? 1), b as PrekeyBundle);
    return b as PrekeyBundle;
  }

  /** Pins `user`'s directory key on first use; a different key is recorded as pending (blocks sending). */
  async pin(user: string, recheck = false): Promise<void> {
    const c = await this.dm.contact(user);
    if (c && !recheck) return;
    const b = await this.fetchBundle(user);
    if (!c) {
      await this.cs.commit({
        put: { [`contact:${user}`]: { identity: b.identity, verified: false } },
        del: [],
      });
    } else {
      const next = addPendingKey(c, b.identity); // never replaces a key already waiting
      if (next !== c) await this.cs.commit({ put: { [`contact:${user}`]: next }, del: [] });
    }
  }

  async signKeyOf(user: string): Promise<string> {
    await this.pin(user);
    return (await this.dm.contact(user))!.identity.sign;
  }
}

/** Where a DM goes: the server's device lists (`DeviceLists`), or a peer's one device (peer/codec.ts). */
export type DmDevices = Pick<DeviceLists, "me" | "device" | "addresses" | "targets">;

/**
 * Where the prekey bundle a device's first DM starts its session from comes from: the server's directory
 * (`E2eDirectory`), or the hello of a peer's channel (peer/codec.ts).
 */
export type DmBundles = Pick<E2eDirectory, "bundles" | "fetchBundle">;

/** A sealed DM: its body and the device addresses it is encrypted to. */
export interface DmSealed {
  body: Uint8Array;
  devices: string[];
}

/**
 * The DM sealer of one attached codec: seals a payload for every device of a user (and my other
 * devices) and opens the part of a DM meant for this device. Made of the sessions (`DmManager`),
 * the device lists and the directory; it keeps the device list each user's signals last started
 * sessions for. Runs under the folder's lock; never sends. On the face (e2e/mod.ts) for peer mode's
 * codec only (peer/codec.ts: its ports), not as a feature's API.
 * @internal
 */
export class DmSealer {
  /** User → the device list (joined addresses) a DM signal last started sessions for. */
  readonly #signalLists = new Map<string, string>();

  constructor(
    readonly dm: DmManager,
    readonly devices: DmDevices,
    readonly dir: DmBundles,
    readonly cs: CryptoStateStore,
    /** What a seal refused for a changed key rejects with (client mode: `keyChangedError`). */
    readonly keyChanged: (e: KeyChangedError) => Error = keyChangedError,
  ) {}

  /** Encrypts a DM payload to every device of `user` and my other devices (`DeviceLists.targets`). */
  async encrypt(user: string, payload: Uint8Array): Promise<DmSealed> {
    const to = await this.devices.targets(user);
    // A note to self goes to my other devices, if any (none: a body with no part, kept for this folder).
    const me = this.devices.me;
    if (user !== me && (to.length === 0 || (to.length === 1 && to[0] === user && this.dm.self === me))) {
      return { body: await this.#encryptTo(user, payload), devices: [user] }; // v1: first to first
    }
    const parts = new Map<string, Uint8Array>();
    for (const a of to) parts.set(a, await this.#encryptTo(a, payload));
    return { body: encodeMultiBody(this.devices.device, parts), devices: to };
  }

  /** One device's envelope: with the session, or starting one from its prekey bundle. */
  async #encryptTo(address: string, payload: Uint8Array): Promise<Uint8Array> {
    try {
      try {
        return await this.dm.encryptDm(address, this.dir.bundles.get(address) ?? null, payload);
      } catch (e) {
        if (!(e instanceof NoSessionError)) throw e;
      }
      const { user, device } = parseDeviceAddress(address);
      return await this.dm.encryptDm(address, await this.dir.fetchBundle(user, device), payload);
    } catch (e) {
      if (e instanceof KeyChangedError) throw this.keyChanged(e);
      throw e;
    } finally {
      if (await this.cs.get(`session:${address}`)) this.dir.bundles.delete(address);
    }
  }

  /**
   * A signal's DM body (typing, watch together; issue 39): a part for each device of `user`, never my
   * own (a signal is never shown for oneself). A device without a session gets one started from its
   * prekey bundle, as a message's would, but only once per device list of `user`: a device whose
   * bundle cannot be had is tried again when the list changes, not on every keystroke. `devices`
   * names the lists it was sealed against, as a message's: the server refuses it (`devices_changed`)
   * when they changed. Null when no device of `user` can read it.
   */
  async sealSignal(user: string, payload: Uint8Array): Promise<DmSealed | null> {
    if (user === this.devices.me) return null;
    const theirs = await this.devices.addresses(user);
    const exchange = this.#signalLists.get(user) !== theirs.join();
    this.#signalLists.set(user, theirs.join());
    const parts = new Map<string, Uint8Array>();
    for (const a of theirs) {
      if (!exchange && !(await this.cs.get(`session:${a}`))) continue;
      try {
        parts.set(a, await this.#encryptTo(a, payload));
      } catch {
        // a changed key, no keys published, a lost session: no signal for that device
      }
    }
    if (!parts.size) return null;
    return { body: encodeMultiBody(this.devices.device, parts), devices: await this.devices.targets(user) };
  }

  /**
   * Opens the part of `from`'s DM `body` for this device (a v2 body), or its v1 envelope; null when
   * there is no part for this device (`v1`: false refuses a v1 envelope too, as a signal does).
   */
  async openPart(from: string, body: Uint8Array, v1 = true): Promise<OpenedDm | null> {
    const multi = decodeMultiBody(body);
    if (!multi && !v1) return null;
    let sender = from, envelope = body;
    if (multi) {
      const part = multi.to[this.dm.self];
      if (!part) return null;
      sender = deviceAddress(from, multi.d);
      envelope = part;
    }
    return { ...await this.dm.openDm(sender, envelope), from: sender };
  }
}

/** What opening a DM part gave: the plaintext, the writes of its ratchet step, the sender's device address. */
export interface OpenedDm {
  plaintext: Uint8Array;
  writes: StoreWrites;
  from: string;
}

/** A safety number in groups (e2e/keys.ts shows them too). */
export const groups = (digits: string) => formatSafetyNumber(digits, 12);

/** The refusal of a seal to a user whose identity key changed: both safety numbers and the way out. */
export function keyChangedError(e: KeyChangedError): BackendError {
  const u = e.user;
  return new BackendError(
    "key_changed",
    `The identity key of ${u} changed, so messages to ${u} are blocked. ` +
      `Safety number before: ${groups(e.oldSafetyNumber)}; now: ${groups(e.newSafetyNumber)}. ` +
      (e.waiting > 1
        ? `WARNING: ${u} presented ${e.waiting} different new keys, at most one of them ${u}'s: ` +
          `ask ${u} for the number, then run "verify ${u} NUMBER" (or "trust ${u} NUMBER")`
        : `Compare the new number with ${u} ("fingerprint ${u}"), then run "verify ${u}" ` +
          `(or "verify ${u} NUMBER" with the number ${u} read out, or "trust ${u}" to accept it unverified)`),
  );
}

/** A read (or the one write, `room.adopt`) of the server: the directory, keys, room logs (never a `send`). */
export type Request = (kind: string, fields?: Record<string, unknown>) => Promise<{
  header: Record<string, unknown>;
}>;
