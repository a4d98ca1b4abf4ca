/**
 * `E2eCodec`: the end-to-end encrypting `BodyCodec`. DMs go through `DmManager` (X3DH on first
 * contact with a bundle from `keys.fetch`, then the Double Ratchet); rooms and broadcasts (a room
 * named "*" of every registered user) through `RoomManager` sender keys, handed to members as DM
 * control messages that the receiving codec consumes silently. Rotation happens after any leave
 * or kick and every 100 messages. The frame key of a user-to-user video stream travels the same
 * way (a "stream-key" DM control message, see video/stream_key.ts). Room membership changes are
 * signed with the acting member's identity key and verified (and shown) by every member; who is in
 * a room is decided by its signed membership log (`RoomLogs`, room_log.ts): sender keys go only
 * to the log's members and are accepted only from them, and a disagreeing server sends nothing. Member
 * lists, bundle fetching, identity pinning and that check live in `E2eDirectory` (e2e_directory.ts).
 *
 * State lives in a `SqliteCryptoStore` in the client's local database: a received message is
 * decrypted, saved and its ratchet step committed in one transaction, and one that was saved
 * already is served from the database instead of being decrypted again. Every operation runs
 * under one lock, in arrival order.
 */
import { randomId } from "../common/random.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { DmManager, KeyChangedError, NoSessionError } from "../crypto/dm.ts";
import { loadIdentity } from "../crypto/keystore.ts";
import { signMembershipChange } from "../crypto/membership.ts";
import { ReplayError } from "../crypto/ratchet.ts";
import { DecryptError } from "../crypto/primitives.ts";
import { RoomManager } from "../crypto/room_manager.ts";
import { mergeWrites, type StoreWrites } from "../crypto/state_store.ts";

const NO_WRITES: StoreWrites = { put: {}, del: [] };
import type { Argon2Params } from "../crypto/at_rest.ts";
import { BackendError, type ChatMessage, type Fingerprint, type Target } from "./backend.ts";
import { type BodyCodec, type KeyOps, UnreadableError } from "./body_codec.ts";
import type { ChatClient } from "./chat_client.ts";
import { SqliteCryptoStore } from "./crypto_store.ts";
import { LocalStore } from "./local_store.ts";
import { E2eDirectory, MEMBERSHIP_VERBS } from "./e2e_directory.ts";
import { RoomLogs } from "./room_log.ts";
import { decodeStreamKey, encodeStreamKey, StreamKeyBox, type StreamKeyChannel } from "./video/stream_key.ts";
import { decodeFileOffer, encodeFileOffer, type FileOffer, offerWrites } from "./file_offer.ts";
import {
  decodePayload,
  encodePayload,
  groups,
  keyChangedError,
  ownFingerprint,
  publishKeys,
  refillPrekeys,
  type Request,
} from "./e2e_keys.ts";

/** The sender-key "room" that carries broadcasts. */
export const BROADCAST_ROOM = "*";

type Host = Pick<ChatClient, "user" | "conn" | "notify">;

export class E2eCodec implements BodyCodec {
  readonly encrypted = true;
  readonly dm: DmManager;
  readonly rooms: RoomManager;
  readonly keys: KeyOps;
  readonly #request: Request;
  readonly #dir: E2eDirectory;
  readonly #logs: RoomLogs;
  readonly #streamKeyBox = new StreamKeyBox();
  /** Frame keys of user-to-user video streams, sent and received as DM control messages. */
  readonly streamKeys: StreamKeyChannel = {
    send: (to, sid, key) => this.#sendStreamKey(to, sid, key),
    receive: (from, sid, timeoutMs) => this.#streamKeyBox.take(from, sid, timeoutMs),
  };

  /** File transfers (files.ts): offers sent as DM control messages, records in the keystore. */
  readonly files = {
    offer: (to: string, o: FileOffer): Promise<void> =>
      this.#serial(async () => {
        const mid = randomId(undefined, 12);
        const body = await this.#dmEncrypt(to, encodeFileOffer(mid, o));
        await this.host.conn.request("send", { to: { kind: "user", name: to }, mid }, body);
      }),
    get: (key: string): Promise<unknown> => this.#serial(() => this.cs.get(key)),
    /** Reads `key`, lets `fn` change the value, writes it back, all under the folder's lock. */
    update: <T>(key: string, fn: (v: T | undefined) => T): Promise<T> =>
      this.#serial(async () => {
        const v = fn((await this.cs.get(key)) as T | undefined);
        await this.cs.commit({ put: { [key]: v }, del: [] });
        return v;
      }),
    verified: (user: string): Promise<boolean> =>
      this.#serial(async () => (await this.dm.contact(user))?.verified === true),
  };

  private constructor(
    readonly host: Host,
    readonly cs: SqliteCryptoStore,
    readonly local: LocalStore,
    readonly clock: Clock,
  ) {
    const me = host.user;
    this.dm = new DmManager({ store: cs, me, clock });
    this.rooms = new RoomManager({ store: cs, me, clock });
    this.#request = (k, f) => host.conn.request(k, f);
    this.#dir = new E2eDirectory(this.#request, this.dm, cs);
    this.#logs = new RoomLogs(this.#request, cs, (u) => this.#dir.signKeyOf(u), clock);
    local.onForeignChange(() => cs.dropCache());
    this.keys = {
      fingerprint: (u) => this.#serial(() => this.#fingerprint(u, true)),
      verify: (u) =>
        this.#serial(async () => (await this.#dir.pin(u), await this.dm.verify(u), this.#fingerprint(u))),
      trust: (u) =>
        this.#serial(async () => (await this.#dir.pin(u), await this.dm.trust(u), this.#fingerprint(u))),
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
    client: ChatClient,
    password: string,
    o: { params?: Argon2Params; clock?: Clock } = {},
  ): Promise<E2eCodec> {
    if (!client.store) throw new BackendError("no_home", "End-to-end encryption needs a client folder");
    const cs = await SqliteCryptoStore.open(client.store.db, password, o.params);
    const codec = new E2eCodec(client, cs, client.store, o.clock ?? systemClock);
    await codec.#serial(() => publishKeys(cs, codec.#request, codec.clock.now()));
    client.codec = codec;
    return codec;
  }

  /** One operation at a time, holding the folder's write lock (other processes may share it). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.exclusive(fn);
  }

  get #me(): string {
    return this.host.user;
  }

  seal(to: Target, mid: string, text: string): Promise<Uint8Array> {
    return this.#serial(async () => {
      const payload = encodePayload({ v: 1, k: "text", mid, text });
      if (to.kind === "user") return await this.#dmEncrypt(to.name!, payload);
      const room = to.kind === "room" ? to.name! : BROADCAST_ROOM;
      const members = to.kind === "room" ? await this.#logs.recipients(room) : await this.#dir.everyone();
      const plan = await this.rooms.planSend(room, members);
      const got: string[] = [];
      for (const u of plan.missing) {
        try {
          const cmid = randomId(undefined, 12);
          const body = await this.#dmEncrypt(
            u,
            encodePayload({ v: 1, k: "skd", mid: cmid, dist: plan.dist }),
          );
          await this.host.conn.request("send", { to: { kind: "user", name: u }, mid: cmid }, body);
          got.push(u);
        } catch (e) {
          const where = to.kind === "room" ? `#${room}` : "broadcasts";
          this.#notice("warn", `${u} cannot read ${where} from you: ${e instanceof Error ? e.message : e}`);
        }
      }
      await this.rooms.markDistributed(room, plan.dist.chainId, got);
      return await this.rooms.encrypt(room, payload);
    });
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
            const mine: ChatMessage = { ...m, text: own.text };
            this.local.confirm(mine);
            return mine;
          }
          throw new UnreadableError("you sent it from another device; only its recipients can decrypt it");
        }
        if (m.to.kind === "user") {
          const o = await this.dm.openDm(m.from, body);
          const sk = decodeStreamKey(o.plaintext, m.mid);
          if (sk) {
            await this.cs.commit(o.writes, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
            this.#streamKeyBox.put(m.from, sk.sid, sk.key);
            return null;
          }
          const fo = decodeFileOffer(o.plaintext, m.mid);
          if (fo) {
            const w = await offerWrites(this.cs, m.from, fo, m.ts);
            await this.cs.commit(
              mergeWrites(o.writes, w),
              (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv),
            );
            const { key: _key, ...offer } = fo;
            const verified = (await this.dm.contact(m.from))?.verified === true;
            if (Object.keys(w.put).length) {
              this.host.notify({ type: "file.offer", offer: { ...offer, from: m.from, verified } });
            }
            return null;
          }
          const p = decodePayload(o.plaintext, m.mid);
          if (p.k === "text") return await this.#save(o.writes, { ...m, text: p.text });
          const refused = p.dist.room === BROADCAST_ROOM
            ? null
            : await this.#logs.refusal(p.dist.room, m.from);
          if (refused !== null) {
            // consumed (never retried), the key not installed
            await this.cs.commit(o.writes, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
            if (refused) {
              this.#notice("warn", `A room key from ${m.from} for #${p.dist.room} was refused: ${refused}`);
            }
            return null;
          }
          const w = await this.rooms.acceptDistribution(m.from, p.dist);
          await this.cs.commit(
            mergeWrites(o.writes, w),
            (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv),
          );
          return null;
        }
        const room = m.to.kind === "room" ? m.to.name! : BROADCAST_ROOM;
        const o = await this.rooms.open(room, m.from, body);
        const p = decodePayload(o.plaintext, m.mid);
        if (p.k !== "text") throw new SyntaxError("A room key arrived inside a room message");
        return await this.#save(o.writes, { ...m, text: p.text });
      } catch (e) {
        if (e instanceof KeyChangedError) throw keyChangedError(e);
        // Never readable here: recorded as consumed, so a redelivery costs no decryption (issue 10 item 8).
        const never = e instanceof UnreadableError || e instanceof DecryptError || e instanceof SyntaxError;
        if (!never) throw e;
        await this.cs.commit(NO_WRITES, (db) => SqliteCryptoStore.markConsumed(db, m.seq, conv));
        if (e instanceof ReplayError) {
          throw new UnreadableError("it was already received once (replay rejected)");
        }
        throw e instanceof UnreadableError
          ? e
          : new UnreadableError(e instanceof Error ? e.message : String(e));
      }
    });
  }

  #sendStreamKey(user: string, sid: string, key: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      const mid = randomId(undefined, 12);
      const body = await this.#dmEncrypt(user, encodeStreamKey(mid, sid, key));
      await this.host.conn.request("send", { to: { kind: "user", name: user }, mid }, body);
    });
  }

  async #save(w: Parameters<SqliteCryptoStore["commit"]>[0], m: ChatMessage): Promise<ChatMessage> {
    await this.cs.commit(w, (db) => LocalStore.insert(db, [m]));
    return m;
  }

  onPush(h: Record<string, unknown>): Promise<void> {
    if (h.t === "notice" && h.text === "keys.low") {
      return this.#serial(async () => void (await refillPrekeys(this.cs, this.#request)));
    }
    if (h.t !== "room") return Promise.resolve();
    return this.#serial(async () => {
      const room = String(h.room);
      const members = Array.isArray(h.members) ? h.members : [];
      const change = String(h.change);
      const by = String(h.by ?? "");
      const user = String(h.user ?? (change === "left" ? by : ""));
      this.#logs.invalidate(room);
      let inLog = false; // the change is the latest entry of the room's verified membership log
      if (members.includes(this.#me)) {
        inLog = await this.#logs.isLatest(room, h.entry).catch((e) => {
          this.#notice("error", e instanceof Error ? e.message : String(e));
          return false;
        });
      }
      if ((change === "left" || change === "kicked") && user) await this.rooms.memberLeft(room, user);
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

  async #dmEncrypt(user: string, payload: Uint8Array): Promise<Uint8Array> {
    try {
      try {
        return await this.dm.encryptDm(user, this.#dir.bundles.get(user) ?? null, payload);
      } catch (e) {
        if (!(e instanceof NoSessionError)) throw e;
      }
      return await this.dm.encryptDm(user, await this.#dir.fetchBundle(user), payload);
    } catch (e) {
      if (e instanceof KeyChangedError) throw keyChangedError(e);
      throw e;
    } finally {
      if (await this.cs.get(`session:${user}`)) this.#dir.bundles.delete(user);
    }
  }

  async #fingerprint(user?: string, recheck = false): Promise<Fingerprint> {
    if (!user || user === this.#me) {
      return {
        user: this.#me,
        safetyNumber: await ownFingerprint(this.cs, this.#me),
        verified: true,
        changed: false,
      };
    }
    const known = await this.dm.contact(user);
    await this.#dir.pin(user, recheck && !known?.pending); // compare with what the directory holds now
    const c = (await this.dm.contact(user))!;
    return {
      user,
      safetyNumber: groups((await this.dm.safetyNumber(user))!),
      verified: c.verified,
      changed: c.pending !== undefined,
    };
  }
}
