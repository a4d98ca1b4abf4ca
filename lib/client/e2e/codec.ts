/**
 * `E2eCodec`: the end-to-end encrypting `BodyCodec`. DMs go through `DmManager` (X3DH on first
 * contact with a bundle from `keys.fetch`, then the Double Ratchet); rooms and broadcasts (a room
 * named "*" of every registered user) through `RoomManager` sender keys, handed to members as DM
 * control messages that the receiving codec consumes silently. Rotation happens after any leave
 * or kick and every 100 messages. The frame key of a user-to-user video stream travels the same
 * way (a "stream-key" DM control message, see video/stream_key.ts). Room membership changes are
 * signed with the acting member's identity key and verified (and shown) by every member; who is in
 * a room is decided by its signed membership log (`RoomLogs`, core/room_log.ts): sender keys go only
 * to the log's members and are accepted only from them, and a disagreeing server sends nothing (a room
 * made by 0.1.0 is adopted by its admin's client; its keys wait in e2e/held_room_keys.ts until then). Member
 * lists, bundle fetching, identity pinning and that check live in `E2eDirectory` (e2e/directory.ts).
 *
 * State lives in a `SqliteCryptoStore` in the client's local database: a received message is
 * decrypted, saved and its ratchet step committed in one transaction, and one that was saved
 * already is served from the database instead of being decrypted again. Every operation runs
 * under one lock, in arrival order. A control message this client sends (a sender key, a stream
 * key) is recorded as consumed under the seq the server gave it, so history never shows it (issue 14).
 */
import { randomId } from "../../common/random.ts";
import { convKey } from "../../protocol/names.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { DmManager, KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { loadIdentity } from "../../crypto/keystore.ts";
import { signMembershipChange } from "../../crypto/membership.ts";
import { ReplayError } from "../../crypto/ratchet.ts";
import { DecryptError, wasmHashers } from "../../crypto/primitives.ts";
import { RoomManager } from "../../crypto/room_manager.ts";
import { mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";

const NO_WRITES: StoreWrites = { put: {}, del: [] };
import type { Argon2Params } from "../../crypto/at_rest.ts";
import { type AccountSecrets, accountSecrets, newAccountKdf } from "../../crypto/account_kdf.ts";
import type { Connection } from "../session/connection.ts";
import {
  BackendError,
  type ChatMessage,
  type Fingerprint,
  type MessageChange,
  type Target,
} from "../backend.ts";
import { type BodyCodec, type KeyOps, sealAndSend, type Sealed, UnreadableError } from "./body_codec.ts";
import type { BackendEvent } from "../backend.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import { LocalStore } from "../session/local_store.ts";
import { E2eDirectory, MEMBERSHIP_VERBS } from "./directory.ts";
import { decodeMultiBody, DeviceLists, encodeMultiBody } from "./devices.ts";
import { deviceAddress, parseDeviceAddress } from "../../common/device_address.ts";
import { RoomLogs } from "./room_log.ts";
import { holdKey, releaseHeld } from "./held_room_keys.ts";
import { ControlRegistry, type SealedChannel } from "./controls.ts";
import { applyChange, changeOf, changePayload, changeTarget, expiryText, isChange } from "./changes.ts";
import { convOf } from "../session/wire_events.ts";
import { type IdentityKeyPair, type PublicIdentity, publicIdentity } from "../../crypto/identity.ts";
import { markShown, waitingKeys } from "../../crypto/pending_keys.ts";
import { identitySafetyNumber } from "../../crypto/safety_number.ts";
import {
  type ChangePayload,
  decodePayload,
  deviceOf,
  encodePayload,
  groups,
  keyChangedError,
  keyToPin,
  ownFingerprint,
  publishKeys,
  refillPrekeys,
  type Request,
} from "./keys.ts";

/** `m` with the id of the message it answers, when it names one. */
const withReply = (m: ChatMessage, re: string | undefined): ChatMessage => re ? { ...m, replyTo: re } : m;

/** An opened text message: its text, the message it answers, when it disappears (server time + its ttl). */
const opened = (m: ChatMessage, p: { text: string; re?: string; x?: number }): ChatMessage => {
  const r = withReply({ ...m, text: p.text }, p.re);
  return p.x ? { ...r, expires: m.ts + p.x * 1000 } : r;
};

/** Set once this folder has adopted the 0.1.0 rooms it is an admin of (`#adoptLegacyRooms`). */
const ADOPTED = "rooms:adopted-0.1.0";

/** The sender-key "room" that carries broadcasts. */
export const BROADCAST_ROOM = "*";

/** What the codec needs of the client it seals for (core/chat_client.ts's ChatClient). */
interface Host {
  readonly user: string;
  /** The server's nonce for this session: what device proofs sign. */
  readonly nonce: string;
  readonly conn: Pick<Connection, "request">;
  notify(e: BackendEvent): void;
}

export class E2eCodec implements BodyCodec, SealedChannel {
  readonly encrypted = true;
  readonly dm: DmManager;
  readonly rooms: RoomManager;
  readonly keys: KeyOps;
  readonly #request: Request;
  readonly #dir: E2eDirectory;
  readonly #logs: RoomLogs;
  /** The control kinds features registered (files/, video/): the receive path looks them up. */
  readonly controls = new ControlRegistry();

  /** Device lists of every user and where a DM goes (e2e/devices.ts). */
  readonly devices: DeviceLists;

  get me(): string {
    return this.host.user;
  }

  sendControl(user: string, encode: (mid: string) => Uint8Array): Promise<void> {
    return this.#serial(async () => {
      const mid = randomId(undefined, 12);
      await this.#sendDm(user, mid, encode(mid)); // to every device, recorded as consumed
    });
  }

  sendRoomControl(room: string, encode: (mid: string) => Uint8Array): Promise<void> {
    return this.#serial(async () => {
      const mid = randomId(undefined, 12), to = { kind: "room" as const, name: room };
      const body = await this.rooms.encrypt(await this.#distribute(to), encode(mid));
      const sent = await this.host.conn.request("send", { to, mid }, body);
      const seq = Number(sent.header.seq ?? 0); // consumed: never shown here, nor read again
      if (seq > 0) {
        await this.cs.commit(
          NO_WRITES,
          (db) => SqliteCryptoStore.markConsumed(db, seq, convKey("room", room)),
        );
      }
    });
  }

  locked<T>(fn: (cs: SqliteCryptoStore) => Promise<T>): Promise<T> {
    return this.#serial(() => fn(this.cs));
  }

  peek(key: string): Promise<unknown> {
    return this.cs.fresh(key);
  }

  identity(): Promise<IdentityKeyPair> {
    return this.#serial(() => loadIdentity(this.cs));
  }

  pinned(user: string): Promise<PublicIdentity | undefined> {
    return this.#serial(async () =>
      user === this.host.user ? undefined : (await this.dm.contact(user))?.identity
    );
  }

  verified(user: string): Promise<boolean> {
    return this.#serial(async () => (await this.dm.contact(user))?.verified === true);
  }

  notify(e: BackendEvent): void {
    this.host.notify(e);
  }

  private constructor(
    readonly host: Host,
    readonly cs: SqliteCryptoStore,
    readonly local: LocalStore,
    readonly clock: Clock,
    readonly device: number,
  ) {
    const me = host.user;
    this.dm = new DmManager({ store: cs, me, device, clock });
    this.devices = new DeviceLists((k, f) => host.conn.request(k, f), cs, me, device);
    this.rooms = new RoomManager({ store: cs, me, clock });
    this.#request = (k, f) => host.conn.request(k, f);
    this.#dir = new E2eDirectory(this.#request, this.dm, cs);
    this.#logs = new RoomLogs(
      this.#request,
      cs,
      (u) => this.#dir.signKeyOf(u),
      clock,
      me,
      (r) => this.rooms.rotate(r),
    );
    local.onForeignChange(() => cs.dropCache());
    this.keys = {
      fingerprint: (u) => this.#serial(() => this.#fingerprint(u, true)),
      verify: (u, n) => this.#serial(() => this.#accept(u, n, true)),
      trust: (u, n) => this.#serial(() => this.#accept(u, n, false)),
      signChange: (room, action, target) =>
        this.#serial(async () =>
          signMembershipChange(await loadIdentity(cs), {
            room,
            action,
            target,
            by: me,
            epoch: 0,
            at: this.clock.now(),
          })
        ),
      // Leaving is always possible: with a log this client cannot verify, the leave carries no entry.
      logEntry: (room, action, target) =>
        this.#serial(() =>
          this.#logs.entry(me, room, action, target).catch((e) => {
            if (action === "leave" && e instanceof BackendError && e.code === "membership") return undefined;
            throw e;
          })
        ),
    };
  }

  /**
   * Opens the keystore in the client's local database with the user's password, publishes keys
   * and switches `client` to encrypted bodies.
   */
  static async attach(
    client: Host & { store?: LocalStore | null; account?: AccountSecrets; codec: BodyCodec },
    password: string,
    o: {
      params?: Argon2Params;
      floor?: Argon2Params;
      clock?: Clock;
      prepare?: (cs: SqliteCryptoStore) => Promise<void>;
      /** Registers the control kinds of the features above e2e/ (start/e2e_attach.ts). */
      controls?: (ch: SealedChannel) => void;
    } = {},
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
    const codec = new E2eCodec(client, cs, store, clock, device);
    o.controls?.(codec);
    client.codec = codec;
    await codec.#adoptLegacyRooms().catch((e) =>
      codec.#notice("warn", e instanceof Error ? e.message : String(e))
    );
    return codec;
  }

  /**
   * Once per folder (the upgrade from 0.1.0): each room I am an admin of that has no membership log
   * gets its genesis entry signed by me (core/room_log.ts) and a fresh sender key for its members.
   */
  #adoptLegacyRooms(): Promise<void> {
    return this.#serial(async () => {
      if (await this.cs.get(ADOPTED)) return;
      for (const room of await this.#logs.unadopted()) {
        const members = (await this.#logs.state(room)).members;
        await this.#distribute({ kind: "room", name: room });
        this.#notice(
          "info",
          `#${room} (made by Parley 0.1.0) now has a membership log signed by you: ${members.join(", ")}`,
        );
      }
      await this.cs.commit({ put: { [ADOPTED]: true }, del: [] });
    });
  }

  #releaseHeld(room: string): Promise<string[]> {
    return releaseHeld(this.cs, this.#logs, this.rooms, room, (t) => this.#notice("warn", t));
  }

  /** One operation at a time, holding the folder's write lock (other processes may share it). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.exclusive(fn);
  }

  get #me(): string {
    return this.host.user;
  }

  seal(to: Target, mid: string, text: string, o: { replyTo?: string; ttl?: number } = {}): Promise<Sealed> {
    const extra = { ...(o.replyTo ? { re: o.replyTo } : {}), ...(o.ttl ? { x: o.ttl } : {}) };
    return this.#sealPayload(to, encodePayload({ v: 1, k: "text", mid, text, ...extra }));
  }

  /** Seals change `c` of message `ref` (issue 39) for the conversation `to`. */
  sealChange(to: Target, mid: string, ref: string, c: MessageChange): Promise<Sealed> {
    return this.#sealPayload(to, encodePayload(changePayload(mid, ref, c)));
  }

  /**
   * The change `c` of `ref` this client sent went through (envelope `sent`, with the seq the server
   * gave it): applied to the local history and recorded as consumed (it never shows as a line).
   */
  changeSent(sent: ChatMessage, ref: string, c: MessageChange): Promise<ChatMessage> {
    return this.#serial(async () => {
      const conv = sent.seq > 0 ? convOf(this.#me, sent) : null;
      return await this.#apply(NO_WRITES, sent, ref, c, await this.#deletesAsAdmin(sent, c), conv);
    });
  }

  /**
   * Checks change `c` of `ref` that `env` carries (from its sender; `admin`: a room admin's deletion) and
   * applies it with the writes `w`, recording `env` as consumed under `conv` (null: not stored).
   */
  async #apply(
    w: StoreWrites,
    env: ChatMessage,
    ref: string,
    c: MessageChange,
    admin: boolean,
    conv: string | null,
  ): Promise<ChatMessage> {
    const orig = changeTarget(this.local, this.#me, env, ref, c, admin);
    let changed!: ChatMessage;
    await this.cs.commit(w, (db) => {
      changed = applyChange(this.local, orig.seq, env.from, env.ts, c);
      if (conv !== null) SqliteCryptoStore.markConsumed(db, env.seq, conv);
    });
    return changed;
  }

  /** A deletion in a room by one of its admins (by the verified log): it may take anyone's message. */
  #deletesAsAdmin(env: ChatMessage, c: MessageChange): Promise<boolean> {
    if (c.kind !== "delete" || env.to.kind !== "room") return Promise.resolve(false);
    return this.#isAdmin(env.to.name!, env.from);
  }

  /** Whether `user` is an admin of `room` by its verified membership log (false when it cannot be verified). */
  #isAdmin(room: string, user: string): Promise<boolean> {
    return this.#logs.state(room).then((s) => s.admins.includes(user), () => false);
  }

  /** Whether this user may delete others' messages in `room` (an admin by its verified log). */
  roomAdmin(room: string): Promise<boolean> {
    return this.#serial(() => this.#isAdmin(room, this.#me));
  }

  /** A received change: checked (UnreadableError when refused), applied with the ratchet step, announced. */
  async #change(w: StoreWrites, m: ChatMessage, conv: string, p: ChangePayload): Promise<null> {
    const c = changeOf(p);
    const admin = await this.#deletesAsAdmin(m, c);
    if (c.kind === "delete" && !(admin ? this.local.byMidAny(p.ref) : this.local.byMid(m.from, p.ref))) {
      // Taken back before it reached this device (the server deleted its copy): nothing to show.
      await this.cs.commit(w, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
      return null;
    }
    this.host.notify({ type: "message.changed", message: await this.#apply(w, m, p.ref, c, admin, conv) });
    return null;
  }

  /** Seals a disappearing-time setting (seconds, 0: off) for the conversation `to` (issue 39.5). */
  sealExpiry(to: Target, mid: string, seconds: number): Promise<Sealed> {
    return this.#sealPayload(to, encodePayload({ v: 1, k: "expire", mid, seconds }));
  }

  /** A received disappearing-time setting: kept for the conversation and shown as a line of its sender's. */
  async #expiry(w: StoreWrites, m: ChatMessage, seconds: number): Promise<ChatMessage> {
    const line = { ...m, text: expiryText(seconds) };
    await this.cs.commit(w, () => {
      this.local.setExpiry(convOf(this.#me, m), seconds, m.ts);
      this.local.insert([line]);
    });
    return line;
  }

  #sealPayload(to: Target, payload: Uint8Array): Promise<Sealed> {
    return this.#serial(async () => {
      if (to.kind === "user") return await this.#dmEncrypt(to.name!, payload);
      const room = await this.#distribute(to);
      return { body: await this.rooms.encrypt(room, payload) };
    });
  }

  /**
   * Makes my sender key for a room (or broadcasts) usable: rotated when due and handed, as DM control
   * messages, to every device of every member still missing it. Returns the sender-key room name.
   */
  async #distribute(to: Target): Promise<string> {
    const room = to.kind === "room" ? to.name! : BROADCAST_ROOM;
    const members = to.kind === "room" ? await this.#logs.recipients(room) : await this.#dir.everyone();
    // Every device of every member (and my other devices) holds my chain.
    const byUser = new Map<string, string[]>();
    for (const u of new Set([...members, this.#me])) byUser.set(u, await this.devices.addresses(u));
    const addrs = [...byUser.values()].flat().filter((a) => a !== this.dm.self);
    const plan = await this.rooms.planSend(room, addrs);
    const got: string[] = [];
    const users = [...byUser].filter(([, as]) => as.some((a) => plan.missing.includes(a)));
    for (const [u] of users) {
      try {
        const cmid = randomId(undefined, 12);
        await this.#sendDm(u, cmid, encodePayload({ v: 1, k: "skd", mid: cmid, dist: plan.dist }));
        got.push(...(await this.devices.addresses(u)).filter((a) => a !== this.dm.self));
      } catch (e) {
        const where = to.kind === "room" ? `#${room}` : "broadcasts";
        const who = u === this.#me ? "Your other devices" : u;
        this.#notice("warn", `${who} cannot read ${where} from you: ${e instanceof Error ? e.message : e}`);
      }
    }
    await this.rooms.markDistributed(room, plan.dist.chainId, got);
    return room;
  }

  /** Sealed copies of a message to `to`: every device a DM goes to; one sender-key ciphertext otherwise. */
  async sealCopies(to: Target): Promise<number> {
    return to.kind === "user" ? Math.max(1, (await this.devices.targets(to.name!)).length) : 1;
  }

  /** The server refused a DM because devices changed: learn them (then seal again). */
  devicesChanged(detail: unknown): Promise<void> {
    return this.#serial(() => this.devices.apply(detail));
  }

  open(): Promise<string> {
    return Promise.reject(new Error("E2eCodec opens messages with receive()"));
  }

  receive(m: ChatMessage, conv: string, body: Uint8Array): Promise<ChatMessage | null> {
    return this.#serial(async () => {
      const saved = this.local.get(m.seq);
      if (saved) return m.replay ? { ...saved, replay: true } : saved;
      if (this.cs.consumed(m.seq)) return null;
      try {
        if (m.from === this.#me) {
          // Sent from this folder by another process (or this one): its text is in the outbox or history.
          const own = this.local.pending(m.mid) ?? this.local.byMid(this.#me, m.mid);
          if (own) {
            const mine = withReply({ ...m, text: own.text }, own.replyTo);
            this.local.confirm(mine);
            return mine;
          }
          // From one of my other devices: a DM has a part for this device, a room message my chain.
          if (m.to.kind === "user" && !decodeMultiBody(body)) {
            throw new UnreadableError("you sent it from another device; only its recipients can decrypt it");
          }
        }
        if (m.to.kind === "user") {
          // One part per device (v2), or one envelope between two first devices (v1).
          const multi = decodeMultiBody(body);
          let from = m.from, envelope = body;
          if (multi) {
            const part = multi.to[this.dm.self];
            if (!part) {
              throw new UnreadableError("it was not encrypted for this device (sent before it was linked?)");
            }
            from = deviceAddress(m.from, multi.d);
            envelope = part;
          }
          const o = await this.dm.openDm(from, envelope);
          // A registered control kind (files/, video/): its writes go with the ratchet step, consumed.
          if (await this.#control(m, conv, o)) return null;
          const p = decodePayload(o.plaintext, m.mid);
          if (p.k === "text") return await this.#save(o.writes, opened(m, p));
          if (isChange(p)) return await this.#change(o.writes, m, conv, p);
          if (p.k === "expire") return await this.#expiry(o.writes, m, p.seconds);
          const refused = p.dist.room === BROADCAST_ROOM
            ? null
            : await this.#logs.refusal(p.dist.room, m.from);
          if (refused !== null && this.#logs.unlogged(p.dist.room)) {
            // A 0.1.0 room that no admin has adopted yet: kept until its log arrives (e2e/held_room_keys.ts).
            const hold = await holdKey(this.cs, { from, user: m.from, dist: p.dist });
            await this.cs.commit(
              mergeWrites(o.writes, hold),
              (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv),
            );
            this.#notice(
              "warn",
              `A room key from ${m.from} for #${p.dist.room} is kept until an admin of #${p.dist.room} ` +
                `signs its membership log (a room made by Parley 0.1.0)`,
            );
            return null;
          }
          if (refused !== null) {
            // consumed (never retried), the key not installed
            await this.cs.commit(o.writes, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
            if (refused) {
              this.#notice("warn", `A room key from ${m.from} for #${p.dist.room} was refused: ${refused}`);
            }
            return null;
          }
          const w = await this.rooms.acceptDistribution(from, p.dist);
          await this.cs.commit(
            mergeWrites(o.writes, w),
            (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv),
          );
          return null;
        }
        const room = m.to.kind === "room" ? m.to.name! : BROADCAST_ROOM;
        if (room !== BROADCAST_ROOM && (await this.#releaseHeld(room)).includes(m.from)) {
          // Not consumed nor acknowledged: the server keeps it until the room's log arrives.
          throw new Error(
            `it was sent in #${room} (a room made by Parley 0.1.0), which no admin has signed a ` +
              `membership log for yet; it stays on the server and is read once one does`,
          );
        }
        const o = await this.rooms.open(room, m.from, body, await this.devices.addresses(m.from));
        if (await this.#control(m, conv, o, m.to.kind === "room" ? room : undefined)) return null;
        const p = decodePayload(o.plaintext, m.mid);
        if (isChange(p)) return await this.#change(o.writes, m, conv, p);
        if (p.k === "expire") return await this.#expiry(o.writes, m, p.seconds);
        if (p.k !== "text") throw new SyntaxError("A room key arrived inside a room message");
        return await this.#save(o.writes, opened(m, p));
      } catch (e) {
        if (e instanceof KeyChangedError) throw keyChangedError(e);
        // Never readable here: recorded as consumed, so a redelivery costs no decryption (issue 10 item 8).
        // No session can appear later for a message that is not a session start (issue 33.10).
        const never = e instanceof UnreadableError || e instanceof DecryptError || e instanceof SyntaxError ||
          e instanceof NoSessionError;
        if (!never) throw e;
        await this.cs.commit(NO_WRITES, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
        if (e instanceof ReplayError) {
          throw new UnreadableError("it was already received once (replay rejected)");
        }
        if (e instanceof NoSessionError) {
          throw new UnreadableError(
            `it belongs to no session with ${m.from} (forged, or from before a key reset)`,
          );
        }
        throw e instanceof UnreadableError
          ? e
          : new UnreadableError(e instanceof Error ? e.message : String(e));
      }
    });
  }

  /**
   * Runs the registered control kind an opened payload is (in a room: only kinds that may come
   * there), its writes committed with the ratchet or chain step and the message consumed; false
   * when it is none.
   */
  async #control(
    m: ChatMessage,
    conv: string,
    o: { plaintext: Uint8Array; writes: StoreWrites },
    room?: string,
  ): Promise<boolean> {
    if (m.to.kind !== "user" && room === undefined) return false; // broadcasts carry none
    const control = this.controls.lookup(o.plaintext, m.mid, m.to.kind !== "user");
    if (!control) return false;
    const sender = m.from;
    const r = await control({
      from: sender,
      mid: m.mid,
      at: m.ts,
      cs: this.cs,
      ...(room === undefined ? {} : { room }),
      verified: async () => (await this.dm.contact(sender))?.verified === true,
    });
    await this.cs.commit(
      mergeWrites(o.writes, r.writes ?? NO_WRITES),
      (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv),
    );
    r.after?.();
    return true;
  }

  /**
   * Seals a signal's payload (typing, core/typing.ts) like a message: a DM part for each of the
   * recipient's devices this device already has a session with (never my own devices: a signal is
   * never shown for oneself; no key exchange for a signal), or a room message under my sender key
   * (handed to members first if needed, as the next message would). Null when there is nobody to
   * seal it for. The ratchet or chain step is committed.
   */
  sealSignal(to: Target, payload: Uint8Array): Promise<Uint8Array | null> {
    return this.#serial(async () => {
      if (to.kind === "user") {
        if (to.name === this.#me) return null;
        const parts = new Map<string, Uint8Array>();
        for (const a of await this.devices.addresses(to.name!)) {
          if (!(await this.cs.get(`session:${a}`))) continue;
          try {
            parts.set(a, await this.dm.encryptDm(a, null, payload));
          } catch {
            // a changed key or a lost session: no signal for that device
          }
        }
        return parts.size ? encodeMultiBody(this.device, parts) : null;
      }
      if (to.kind !== "room") return null;
      return await this.rooms.encrypt(await this.#distribute(to), payload);
    });
  }

  /**
   * Opens a signal exactly like a message (the ratchet or chain step is committed, so the next real
   * message still opens); null when it is mine or cannot be read.
   */
  openSignal(m: { from: string; to: Target }, body: Uint8Array): Promise<Uint8Array | null> {
    return this.#serial(async () => {
      if (m.from === this.#me) return null; // never shown for oneself (nor from my other devices)
      try {
        let o: { plaintext: Uint8Array; writes: StoreWrites };
        if (m.to.kind === "user") {
          const multi = decodeMultiBody(body);
          const part = multi?.to[this.dm.self];
          if (!multi || !part) return null;
          o = await this.dm.openDm(deviceAddress(m.from, multi.d), part);
        } else if (m.to.kind === "room") {
          o = await this.rooms.open(m.to.name!, m.from, body, await this.devices.addresses(m.from));
        } else return null;
        await this.cs.commit(o.writes);
        return o.plaintext;
      } catch {
        return null; // a signal that cannot be read is dropped: it is never stored or retried
      }
    });
  }

  /** The room's admins as its signed membership log says (not as the server lists them). */
  roomAdmins(room: string): Promise<string[]> {
    return this.#serial(async () => (await this.#logs.state(room)).admins);
  }

  async #save(w: Parameters<SqliteCryptoStore["commit"]>[0], m: ChatMessage): Promise<ChatMessage> {
    await this.cs.commit(w, () => this.local.insert([m]));
    return m;
  }

  onPush(h: Record<string, unknown>): Promise<void> {
    if (h.t === "notice" && h.text === "keys.low") {
      const who = { user: this.host.user, nonce: this.host.nonce };
      return this.#serial(async () => void (await refillPrekeys(this.cs, this.#request, who)));
    }
    if (h.t === "devices" && typeof h.user === "string" && Array.isArray(h.devices)) {
      const [user, list] = [h.user, h.devices];
      return this.#serial(() => this.devices.set(user, list));
    }
    if (h.t !== "room") return Promise.resolve();
    return this.#serial(async () => {
      const room = String(h.room);
      const members = Array.isArray(h.members) ? h.members : [];
      const change = String(h.change);
      const by = String(h.by ?? "");
      const user = typeof h.user === "string" ? h.user : change === "left" ? by : "";
      this.#logs.invalidate(room);
      let inLog = false; // the change is the latest entry of the room's verified membership log
      if (members.includes(this.#me)) {
        inLog = await this.#logs.isLatest(room, h.entry).catch((e) => {
          this.#notice("error", e instanceof Error ? e.message : String(e));
          return false;
        });
      }
      if (change === "updated" && inLog && by !== this.#me) { // room.adopt: a 0.1.0 room got its log
        this.#notice(
          "info",
          `${by} signed #${room}'s membership log (a room made by Parley 0.1.0): ${members.join(", ")}`,
        );
      }
      if ((change === "left" || change === "kicked") && user) {
        await this.rooms.memberLeft(room, user, await this.devices.addresses(user));
      }
      const verb = MEMBERSHIP_VERBS[change];
      if (by && by !== this.#me && verb) {
        const n = await this.#dir.describeChange(
          h,
          room,
          verb,
          by,
          user,
          inLog || !members.includes(this.#me),
        );
        this.#notice(n.level, n.text);
      }
    });
  }

  #notice(level: "info" | "warn" | "error", text: string): void {
    this.host.notify({ type: "notice", level, text });
  }

  /** Encrypts a DM payload to every device of `user` and my other devices (e2e/devices.ts). */
  async #dmEncrypt(user: string, payload: Uint8Array): Promise<{ body: Uint8Array; devices: string[] }> {
    const to = await this.devices.targets(user);
    if (to.length === 0 || (to.length === 1 && to[0] === user && this.dm.self === this.#me)) {
      return { body: await this.#encryptTo(user, payload), devices: [user] }; // v1: first device to first device
    }
    const parts = new Map<string, Uint8Array>();
    for (const a of to) parts.set(a, await this.#encryptTo(a, payload));
    return { body: encodeMultiBody(this.device, parts), devices: to };
  }

  async #encryptTo(address: string, payload: Uint8Array): Promise<Uint8Array> {
    try {
      try {
        return await this.dm.encryptDm(address, this.#dir.bundles.get(address) ?? null, payload);
      } catch (e) {
        if (!(e instanceof NoSessionError)) throw e;
      }
      const { user, device } = parseDeviceAddress(address);
      return await this.dm.encryptDm(address, await this.#dir.fetchBundle(user, device), payload);
    } catch (e) {
      if (e instanceof KeyChangedError) throw keyChangedError(e);
      throw e;
    } finally {
      if (await this.cs.get(`session:${address}`)) this.#dir.bundles.delete(address);
    }
  }

  /** Sends a DM control payload (room key, stream key, file offer), sealing again once if devices changed. */
  async #sendDm(user: string, mid: string, payload: Uint8Array): Promise<void> {
    const sent = await sealAndSend(
      () => this.#dmEncrypt(user, payload),
      (r) =>
        this.host.conn.request("send", { to: { kind: "user", name: user }, mid, devices: r.devices }, r.body),
      (detail) => this.devices.apply(detail), // under the lock already
    );
    // Recorded as consumed: this client's history (and its other processes) never shows it.
    const seq = Number(sent.header.seq ?? 0);
    if (seq > 0) {
      const conv = convKey("user", this.#me, user);
      await this.cs.commit(NO_WRITES, (db) => SqliteCryptoStore.markConsumed(db, seq, conv));
    }
  }

  /** Pins the one key of `user` that `number` (or the number last shown) names; answers its number. */
  async #accept(user: string, number: string | undefined, verified: boolean): Promise<Fingerprint> {
    await this.#dir.pin(user);
    const mine = publicIdentity(await loadIdentity(this.cs));
    const key = await keyToPin(this.#me, mine, user, (await this.dm.contact(user))!, number, verified);
    await this.dm.accept(user, key, verified, await this.devices.of(user));
    return await this.#fingerprint(user);
  }

  /** `shown`: the number is displayed for comparing (the directory is asked again; the key is recorded). */
  async #fingerprint(user?: string, shown = false): Promise<Fingerprint> {
    if (!user || user === this.#me) {
      return {
        user: this.#me,
        safetyNumber: await ownFingerprint(this.cs, this.#me),
        verified: true,
        changed: false,
      };
    }
    const known = await this.dm.contact(user);
    await this.#dir.pin(user, shown && !known?.pending); // compare with what the directory holds now
    const c = (await this.dm.contact(user))!;
    const waiting = waitingKeys(c);
    const target = waiting[0] ?? c.identity; // the key whose number is shown
    const marked = shown ? markShown(c) : null;
    if (marked) await this.cs.commit({ put: { [`contact:${user}`]: marked }, del: [] });
    const mine = publicIdentity(await loadIdentity(this.cs));
    const numberOf = async (k: PublicIdentity) => groups(await identitySafetyNumber(this.#me, mine, user, k));
    return {
      user,
      safetyNumber: await numberOf(target),
      verified: c.verified,
      changed: c.pending !== undefined,
      ...(waiting.length > 1 ? { others: await Promise.all(waiting.slice(1).map(numberOf)) } : {}),
    };
  }
}
