/**
 * `E2eCodec`: the end-to-end encrypting `BodyCodec`, and the `SealedChannel` features register
 * their control kinds on (e2e/controls.ts). DMs go through `DmManager` (X3DH on first contact with
 * a bundle from `keys.fetch`, then the Double Ratchet: e2e/dm_seal.ts); rooms and broadcasts (a room
 * named "*" of every registered user) through `RoomManager` sender keys (e2e/room_seal.ts), handed
 * to members as DM control messages that the receiving codec consumes silently. A seal sends
 * nothing: the sender keys a room message needs first come back as `handouts`, which the core sends
 * (e2e/body_codec.ts). Rotation happens after any leave or kick and every 100 messages. Who is in a
 * room is decided by its signed membership log (`RoomLogs`, e2e/room_log.ts): sender keys go only to
 * the log's members and are accepted only from them (e2e/receive.ts), and a disagreeing server
 * sends nothing (a room made by 0.1.0 is adopted by its admin's client; its keys wait in
 * e2e/room_seal.ts until then). Member lists, bundles, identity pinning: `E2eDirectory`.
 *
 * State lives in a `SqliteCryptoStore` in the client's local database: a received message is
 * decrypted, saved and its ratchet step committed in one transaction, and one that was saved
 * already is served from the database instead of being decrypted again (e2e/receive.ts). Every
 * operation runs under one lock, in arrival order. A control message this client sends (a sender
 * key, a stream key) is recorded as consumed under the seq the server gave it, so history never
 * shows it (issue 14).
 *
 * The channel's `send` (`sendControl`): to a user, a DM sealed for every device of theirs (sealed once
 * more when devices changed); to a room, one message under my room key (issue 36: a room file's offer,
 * opened by every member's devices), the sender-key handouts it needs sent first (body_codec.ts
 * `handOut`). Both leave through the core's link (the host's `link`, core/link.ts), as messages do,
 * and are recorded as consumed on my side. The payload's kind must be the one named, and a room gets
 * only kinds registered as `room` (a bug otherwise: throws); receivers run it only for such kinds too.
 */
import { randomId } from "../../common/random.ts";
import { convKey } from "../../protocol/names.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { DmManager } from "../../crypto/dm.ts";
import { loadIdentity } from "../../crypto/keystore.ts";
import { wasmHashers } from "../../crypto/primitives.ts";
import { RoomManager } from "../../crypto/room_manager.ts";
import { accountSecrets, newAccountKdf } from "../../crypto/account_kdf.ts";
import type { IdentityKeyPair, PublicIdentity } from "../../crypto/identity.ts";
import { BackendError } from "../backend.ts";
import type { BackendEvent, ChatMessage, Keystore, MessageChange, Target } from "./door.ts";
import type { CryptoStateStore } from "../../crypto/state_store.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { LocalStore } from "../session/local_store.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import type { Argon2Params } from "../../crypto/at_rest.ts";
import {
  type BlockOps,
  type BodyCodec,
  type Handout,
  handOut,
  type KeyOps,
  sealAndSend,
  type Sealed,
  type SealedSender,
  type Setting,
} from "./body_codec.ts";
import { blockOps, isBlocked } from "./blocks.ts";
import { type Later, seenSync } from "./seen_sync.ts";
import {
  type AdminLogs,
  type Applied,
  type Consumed,
  type DmTaking,
  FolderApplier,
  HistoryApplier,
  type Ledger,
  NO_WRITES,
  type Taken,
} from "./apply.ts";
import { type ControlKind, ControlRegistry, payloadKind, type SealedChannel } from "./controls.ts";
import { DeviceLists, DmSealer, E2eDirectory, type Request } from "./dm_seal.ts";
import { deviceOf, encodePayload, keyOps, publishKeys, refillPrekeys, textPayload } from "./keys.ts";
import { Receiver } from "./receive.ts";
import { RoomLogs } from "./room_log.ts";
import { BROADCAST_ROOM, errorText, RoomSealer } from "./room_seal.ts";
import { paced } from "../session/rate_wait.ts";
import type { Connection } from "../session/connection.ts";

export { BROADCAST_ROOM, DmSealer, HistoryApplier };
export type { AdminLogs, Applied, Consumed, DmTaking, Later, Ledger, Taken };

/** What the codec needs of the client it seals for (core/chat_client.ts's ChatClient). */
export interface Host {
  /** Who is logged in. */
  readonly user: string;
  /** The server's nonce for this session: what device proofs sign. */
  readonly nonce: string;
  /** @internal Its connection, for requests (session/connection.ts): directory and key reads. */
  readonly conn: Pick<Connection, "request">;
  /** @internal Where sealed bodies leave (the core's `Link`, core/link.ts): handouts and controls too. */
  readonly link: SealedSender;
  /** Tells the surfaces. */
  notify(e: BackendEvent): void;
}

/** The client `E2eCodec.attach` switches to encrypted bodies (core/chat_client.ts's ChatClient). */
export interface AttachClient extends Host {
  /** @internal Its folder (none: no end-to-end encryption). */
  store?: LocalStore | null;
  /** @internal What the password gave at login (else derived again). */
  account?: AccountSecrets;
  /** What its bodies go through: set to the codec. */
  codec: BodyCodec;
}

/** How `E2eCodec.attach` opens the keystore and what it registers. */
export interface AttachOptions {
  /** Argon2id parameters of a new keystore, and the least an existing one may use. */
  params?: Argon2Params;
  /** The least Argon2id cost an existing keystore may have. */
  floor?: Argon2Params;
  /** Time (signed membership changes, key rotation). */
  clock?: Clock;
  /** Runs on the opened keystore before keys are published (a linked device's keys). */
  prepare?: (cs: Keystore) => Promise<void>;
  /** Registers the control kinds of the features above e2e/ (start/e2e_attach.ts). */
  controls?: (ch: SealedChannel) => void;
  /** The timer of the "seen" notes to my other devices (e2e/seen_sync.ts; default setTimeout): tests run it by hand. */
  later?: Later;
}

/** The end-to-end encrypting codec of one logged-in client (see the module comment). */
export class E2eCodec implements BodyCodec, SealedChannel {
  /** Bodies are end-to-end encrypted. */
  readonly encrypted = true;
  /** @internal DMs: X3DH and the Double Ratchet (lib/crypto/dm.ts). */
  readonly dm: DmManager;
  /** @internal My sender keys and the members' (lib/crypto/room_manager.ts). */
  readonly rooms: RoomManager;
  /** Safety numbers, pinning, signed membership changes (e2e/keys.ts). */
  readonly keys: KeyOps;
  /** The users this folder blocked (e2e/blocks.ts). */
  readonly blocks: BlockOps;
  /** The user read conversation `to` up to seq `upTo`: my other devices are told (e2e/seen_sync.ts). */
  readonly seen: (to: Target, upTo: number) => void;
  /** The control kinds features registered (files/, video/): the receive path looks them up. */
  readonly controls = new ControlRegistry();
  /** @internal Device lists of every user and where a DM goes (e2e/dm_seal.ts). */
  readonly devices: DeviceLists;
  /** Seals DMs to every device and opens this device's part (e2e/dm_seal.ts). */
  readonly #dms: DmSealer;
  /** The signed membership logs (e2e/room_log.ts). */
  readonly #logs: RoomLogs;
  /** My sender keys, their handouts, held 0.1.0 keys, room pushes (e2e/room_seal.ts). */
  readonly #sealer: RoomSealer;
  /** What opened payloads do to the history (e2e/apply.ts). */
  readonly #history: FolderApplier;
  /** The receive path (e2e/receive.ts). */
  readonly #receiver: Receiver;
  /** What a control's send uses (`sendControl`). */
  readonly #send: ControlSend;
  /** Reads from the server (directory, keys, logs), paced; never a `send`. */
  readonly #request: Request;

  private constructor(
    /** @internal The client it seals for. */
    readonly host: Host,
    /** @internal The folder's keystore. */
    readonly cs: SqliteCryptoStore,
    /** @internal The folder's history and outbox. */
    readonly local: LocalStore,
    /** @internal */
    readonly clock: Clock,
    /** This device's number (1: the account's first). */
    readonly device: number,
    later: Later = setTimeout,
  ) {
    const me = host.user;
    // Key lookups, device lists and room logs wait out a refusal for speed (session/rate_wait.ts):
    // what they serve, a message or a sender key, would be lost or sent unreadable otherwise.
    const request: Request = this.#request = (k, f) => paced(() => host.conn.request(k, f));
    this.dm = new DmManager({ store: cs, me, device, clock });
    this.devices = new DeviceLists(request, cs, me, device);
    this.rooms = new RoomManager({ store: cs, me, clock });
    const dir = new E2eDirectory(request, this.dm, cs);
    const logs = new RoomLogs(request, cs, (u) => dir.signKeyOf(u), clock, me, (r) => this.rooms.rotate(r));
    const notice = (level: "info" | "warn" | "error", text: string) =>
      host.notify({ type: "notice", level, text });
    const dms = this.#dms = new DmSealer(this.dm, this.devices, dir, cs);
    this.#logs = logs;
    this.#sealer = new RoomSealer(cs, this.rooms, dms, this.devices, logs, dir, notice);
    this.#history = new FolderApplier(me, cs, local, clock, logs, (e) => host.notify(e));
    const verified = async (u: string) => (await this.dm.contact(u))?.verified === true;
    this.#receiver = new Receiver(this.#history, this.#sealer, dms, this.controls, verified);
    const { devices, controls } = this;
    this.#send = {
      me,
      devices,
      controls,
      link: host.link,
      dms,
      sealer: this.#sealer,
      history: this.#history,
    };
    local.onForeignChange(() => cs.dropCache());
    this.keys = keyOps({ me, cs, clock, dm: this.dm, dir, devices, logs }, (fn) => this.#serial(fn));
    this.blocks = blockOps({ me, cs, notice }, (fn) => this.#serial(fn), this);
    this.seen = seenSync({ me, local, host }, this, later);
  }

  /**
   * Opens the keystore in the client's local database with the user's password, publishes keys
   * and switches `client` to encrypted bodies.
   */
  static async attach(
    client: AttachClient,
    password: string,
    o: AttachOptions = {},
  ): Promise<E2eCodec> {
    if (!client.store) throw new BackendError("no_home", "End-to-end encryption needs a client folder");
    // The ratchet's HMAC runs on hash-wasm once it is loaded (node:crypto's, ~1.5× the cost of a
    // message, until then): load it now, while the keystore opens and the keys are published.
    void wasmHashers().catch(() => {});
    const store = client.store;
    const account = client.account ??
      await accountSecrets(password, newAccountKdf(o.params)); // a client that did not log in by password
    const cs = await SqliteCryptoStore.open(store.db, password, account, o.floor ?? o.params);
    store.unlock(cs.key); // history and outbox text sealed at rest from now on
    const clock = o.clock ?? systemClock;
    const request: Request = (k, f) => client.conn.request(k, f);
    const device = await store.exclusive(async () => {
      await o.prepare?.(cs);
      await publishKeys(cs, request, clock.now(), { user: client.user, nonce: client.nonce });
      return await deviceOf(cs);
    });
    const codec = new E2eCodec(client, cs, store, clock, device, o.later);
    o.controls?.(codec);
    client.codec = codec;
    // Once per folder: the 0.1.0 rooms I am an admin of get their log and a fresh sender key.
    await codec.#serial(() => codec.#sealer.adoptLegacyRooms()).catch((e) =>
      codec.#sealer.notice("warn", errorText(e))
    );
    await codec.#serial(() => codec.#receiver.pruneOpened()); // signals an earlier process filed, their minute up
    return codec;
  }

  /** The client logged in again (a reconnect): this device proven under the new session's nonce. */
  resumed(): Promise<void> {
    this.devices.stale(); // device lists pushed while away were missed
    const who = { user: this.me, nonce: this.host.nonce };
    return this.#serial(async () => {
      await publishKeys(this.cs, this.#request, this.clock.now(), who);
      await this.#receiver.pruneOpened(); // signals filed for the folder whose minute is up
    });
  }

  /** One operation at a time, holding the folder's write lock (other processes may share it). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.exclusive(fn);
  }

  /** Who this client is. */
  get me(): string {
    return this.host.user;
  }

  register<T>(kind: string, h: ControlKind<T>): void {
    this.controls.register(kind, h);
  }

  send(to: Target, kind: string, encode: (mid: string) => Uint8Array): Promise<void> {
    return sendControl(this, this.#send, (fn) => this.#serial(fn), to, kind, encode);
  }

  locked<T>(fn: (cs: CryptoStateStore) => Promise<T>): Promise<T> {
    return this.#serial(() => fn(this.cs));
  }

  peek(key: string): Promise<unknown> {
    return this.cs.fresh(key);
  }

  identity(): Promise<IdentityKeyPair> {
    return this.#serial(() => loadIdentity(this.cs));
  }

  /** `user`'s pinned identity key (undefined for oneself or a stranger). */
  pinned(user: string): Promise<PublicIdentity | undefined> {
    return this.#serial(async () => user === this.me ? undefined : (await this.dm.contact(user))?.identity);
  }

  /** Whether `user`'s key is verified. */
  verified(user: string): Promise<boolean> {
    return this.#serial(async () => (await this.dm.contact(user))?.verified === true);
  }

  notify(e: BackendEvent): void {
    this.host.notify(e);
  }

  // --- sealing (a seal never sends: handouts come back as data) ---

  seal(to: Target, mid: string, text: string, o: Parameters<BodyCodec["seal"]>[3] = {}): Promise<Sealed> {
    return this.#sealPayload(to, encodePayload(textPayload(mid, text, { at: this.clock.now(), ...o })));
  }

  /** Seals change `c` of message `ref` (issue 39) for the conversation `to`. */
  sealChange(to: Target, mid: string, ref: string, c: MessageChange, by?: string): Promise<Sealed> {
    return this.#serial(async () => this.#sealFor(to, await this.#history.fileOwnChange(mid, ref, c, by)));
  }

  /** Seals a setting (a disappearing time, a room's topic) for the conversation `to`. */
  sealSetting(to: Target, mid: string, s: Setting): Promise<Sealed> {
    return this.#serial(async () => this.#sealFor(to, await this.#history.fileOwnSetting(mid, s)));
  }

  #sealPayload(to: Target, payload: Uint8Array): Promise<Sealed> {
    return this.#serial(() => this.#sealFor(to, payload));
  }

  /** Seals `payload` for `to`: a DM (e2e/dm_seal.ts), else a room or broadcasts (e2e/room_seal.ts). Under the lock. */
  #sealFor(to: Target, payload: Uint8Array): Promise<Sealed> {
    return to.kind === "user" ? this.#dms.encrypt(to.name!, payload) : this.#sealer.seal(to, payload);
  }

  /** Seals a signal's payload (typing, core/typing.ts) like a message (e2e/receive.ts); null: nobody to seal it for. */
  sealSignal(to: Target, payload: Uint8Array): Promise<Sealed | null> {
    return this.#serial(async () =>
      to.kind === "user"
        ? await this.#dms.sealSignal(to.name!, payload)
        : to.kind === "room"
        ? await this.#sealer.seal(to, payload)
        : null
    );
  }

  handedOut(h: Handout, r: { seq: number } | { error: unknown }): Promise<void> {
    return this.#serial(async () => {
      // A handout that went out is consumed (history never shows it), then recorded as held.
      if ("seq" in r && r.seq > 0) {
        await this.#history.commitConsumed(NO_WRITES, r.seq, convKey("user", this.me, h.to));
      }
      await this.#sealer.handedOut(h, r);
    });
  }

  resealHandout(h: Handout): Promise<Sealed> {
    return this.#serial(() => this.#sealer.resealHandout(h));
  }

  /** Sealed copies of a message to `to`: every device a DM goes to; one sender-key ciphertext otherwise. */
  async sealCopies(to: Target): Promise<number> {
    return to.kind === "user" ? Math.max(1, (await this.devices.targets(to.name!)).length) : 1;
  }

  /** The server refused a DM because devices changed: learn them (then seal again). */
  devicesChanged(detail: unknown): Promise<void> {
    return this.#serial(() => this.devices.apply(detail));
  }

  /** Refused: messages are opened by `receive`. */
  open(): Promise<string> {
    return Promise.reject(new Error("E2eCodec opens messages with receive()"));
  }

  /** Opens message `m` of `conv` and saves it with the keystore's step (e2e/receive.ts); null when consumed. */
  receive(m: ChatMessage, conv: string, body: Uint8Array): Promise<ChatMessage | null> {
    const blocked = (u: string) => isBlocked({ cs: this.cs, me: this.me }, u);
    return this.#serial(() => this.#receiver.receive(m, conv, body, blocked));
  }

  /**
   * The change `c` of `ref` this client sent went through (envelope `sent`, with the seq the server
   * gave it): applied to the local history and recorded as consumed (it never shows as a line).
   */
  changeSent(sent: ChatMessage, ref: string, c: MessageChange, by?: string): Promise<ChatMessage> {
    return this.#serial(() => this.#history.ownChangeSent(sent, ref, c, by));
  }

  /** My text `mid` was confirmed by the outbox's resend: changes received for it meanwhile apply now. */
  confirmed(mid: string): Promise<void> {
    return this.#serial(() => this.#history.confirmed(mid));
  }

  /** Opens a signal like a message, committing its step (e2e/receive.ts); null when mine or blocked; rejects when unreadable. */
  openSignal(m: { mid?: string; from: string; to: Target }, body: Uint8Array): Promise<Uint8Array | null> {
    return this.#serial(async () => {
      const p = await this.#receiver.openSignal(m, body); // opened first: the ratchet stays in step
      return p && !(await isBlocked({ cs: this.cs, me: this.me }, m.from)) ? p : null;
    });
  }

  /** Pushed frames: low prekeys (refilled), device lists, room changes (e2e/room_seal.ts). */
  onPush(h: Record<string, unknown>): Promise<void> {
    if (h.t === "notice" && h.text === "keys.low") {
      const who = { user: this.me, nonce: this.host.nonce };
      return this.#serial(async () => void (await refillPrekeys(this.cs, this.#request, who)));
    }
    if (h.t === "devices" && typeof h.user === "string" && Array.isArray(h.devices)) {
      const [user, list] = [h.user, h.devices];
      return this.#serial(() => this.devices.set(user, list));
    }
    if (h.t !== "room") return Promise.resolve();
    return this.#serial(() => this.#sealer.roomChanged(h));
  }

  /** Whether this user may delete others' messages in `room` (an admin by its verified log). */
  roomAdmin(room: string): Promise<boolean> {
    return this.#serial(() => this.#history.isAdmin(room, this.me));
  }

  /** The room's admins as its signed membership log says (not as the server lists them). */
  roomAdmins(room: string): Promise<string[]> {
    return this.#serial(async () => (await this.#logs.state(room)).admins);
  }
}

/** What a control's send uses: who I am, device lists, the registry, the link, the sealers, the history. */
export interface ControlSend {
  readonly me: string;
  readonly devices: Pick<DeviceLists, "alone" | "targets" | "apply">;
  readonly controls: Pick<ControlRegistry, "mayComeInRoom">;
  readonly link: SealedSender;
  readonly dms: Pick<DmSealer, "encrypt">;
  readonly sealer: Pick<RoomSealer, "seal">;
  readonly history: Pick<FolderApplier, "commitConsumed">;
}

/** Runs a step under the folder's lock. */
type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

/** Sends `encode(mid)`, a payload of control kind `kind`, to `to` (a user or a room); `serial` runs under the folder's lock. */
export async function sendControl(
  codec: BodyCodec,
  p: ControlSend,
  serial: Serial,
  to: Target,
  kind: string,
  encode: (mid: string) => Uint8Array,
): Promise<void> {
  const mid = randomId(undefined, 12), payload = encode(mid);
  const got = payloadKind(payload);
  if (got !== kind) throw new Error(`A "${kind}" control was asked for, the payload is "${got}"`);
  if (to.kind === "user" && to.name === p.me && p.devices.alone) return; // spares the lock (checked again under it)
  if (to.kind === "user") return await serial(() => sendToUser(p, to.name!, mid, payload));
  if (to.kind !== "room" || !p.controls.mayComeInRoom(kind)) {
    throw new Error(`The control kind "${kind}" cannot go to a ${to.kind}`);
  }
  const room = { kind: "room" as const, name: to.name! };
  const s = await serial(() => p.sealer.seal(room, payload));
  await handOut(codec, p.link, s.handouts);
  const { seq } = await p.link.send(room, mid, s.body);
  if (seq > 0) await serial(() => p.history.commitConsumed(NO_WRITES, seq, convKey("room", room.name)));
}

/**
 * The DM path, under the lock: sealed for every device of `user`, sent, recorded as consumed. One
 * to myself (a note to self for my other devices) goes nowhere when I have no other device.
 */
async function sendToUser(p: ControlSend, user: string, mid: string, payload: Uint8Array): Promise<void> {
  if (user === p.me && !(await p.devices.targets(user)).length) return;
  const to = { kind: "user" as const, name: user };
  const { seq } = await sealAndSend(
    () => p.dms.encrypt(user, payload),
    (r) => p.link.send(to, mid, r.body, { devices: r.devices }),
    (detail) => p.devices.apply(detail), // under the lock already
  );
  if (seq > 0) await p.history.commitConsumed(NO_WRITES, seq, convKey("user", p.me, user));
}
