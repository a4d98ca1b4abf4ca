/**
 * The client's room API over a `CryptoStateStore`, like `DmManager` for DMs. It keeps my sending
 * chain per room, what I know of every other member's chain, and to whom my current chain was
 * handed, and applies the rotation rules: a new chain after any leave or kick (`memberLeft()`, or
 * when someone who holds my chain is no longer among the members given to `planSend()`) and
 * every ROOM_ROTATE_EVERY messages. New members get my chain at its current position, so they
 * cannot read anything sent before they joined.
 *
 * Send: `planSend(room, members)` → the distribution and who still lacks it (deliver it over the
 * pairwise DM sessions, then `markDistributed()`), then `encrypt()`. Receive: `acceptDistribution()`
 * and `open()` return writes to commit together with the message (nothing is written on failure).
 *
 * Store keys: "sk:<room>" (my SenderKeyState), "skto:<room>" ({chainId, users}), "rk:<room>:<sender>".
 * Room messages are bound to their sender: AD = "parley-room-sender\0" ‖ sender.
 *
 * Linked devices: each device of a member has its own chain, so receiver state is kept per device
 * address ("rk:<room>:bob/2"; `acceptDistribution` is given the address the distribution came
 * from) and `open` looks for the message's chain among the sender's devices. `planSend`'s members
 * are device addresses (every device of every member, my other devices included).
 */

import { concatBytes, utf8 } from "../common/bytes.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import {
  createSenderKey,
  decryptRoom,
  encryptRoom,
  markRotate,
  needsRotation,
  parseRoomMessage,
  processDistribution,
  type RoomHeader,
  type RoomReceiverState,
  rotateSenderKey,
  type SenderKeyDistribution,
  senderKeyDistribution,
  type SenderKeyState,
} from "./sender_keys.ts";
import type { CryptoStateStore, StoreWrites } from "./state_store.ts";
import { DecryptError } from "./primitives.ts";

interface Recipients {
  chainId: number;
  users: string[];
}

export interface SendPlan {
  dist: SenderKeyDistribution;
  /** members that do not hold my current chain yet */
  missing: string[];
  /** true when this plan made a new chain */
  rotated: boolean;
}

export interface OpenedRoomMessage {
  plaintext: Uint8Array;
  header: RoomHeader;
  writes: StoreWrites;
}

const SENDER_AD = utf8.encode("parley-room-sender\0");

export class RoomManager {
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

  #ad(sender: string): Uint8Array {
    return concatBytes([SENDER_AD, utf8.encode(sender)]);
  }

  async #mine(room: string): Promise<SenderKeyState | undefined> {
    return (await this.store.get(`sk:${room}`)) as SenderKeyState | undefined;
  }

  async #recipients(room: string): Promise<Recipients | undefined> {
    return (await this.store.get(`skto:${room}`)) as Recipients | undefined;
  }

  /**
   * Makes sure my chain for `room` may be used with `members` (everyone in the room, me included
   * or not): creates it, or rotates it when it is due or when a former holder left. Returns the
   * distribution and the members still missing it.
   */
  async planSend(room: string, members: readonly string[], epoch = 0): Promise<SendPlan> {
    const others = [...new Set(members)].filter((m) => m !== this.me);
    let sk = await this.#mine(room);
    let to = await this.#recipients(room);
    if (sk && to && to.chainId === sk.chainId && to.users.some((u) => !others.includes(u))) {
      sk = markRotate(sk); // someone holding this chain is gone
    }
    let rotated = false;
    if (!sk || needsRotation(sk)) {
      sk = sk ? await rotateSenderKey(sk, Math.max(epoch, sk.epoch + 1), this.rand) : await createSenderKey(
        room,
        epoch,
        this.rand,
      );
      to = { chainId: sk.chainId, users: [] };
      await this.store.commit({ put: { [`sk:${room}`]: sk, [`skto:${room}`]: to }, del: [] });
      rotated = true;
    }
    const have = to && to.chainId === sk.chainId ? to.users : [];
    return { dist: senderKeyDistribution(sk), missing: others.filter((u) => !have.includes(u)), rotated };
  }

  /** Records that `users` now hold the chain `chainId` (after the distribution DMs went out). */
  async markDistributed(room: string, chainId: number, users: readonly string[]): Promise<void> {
    const sk = await this.#mine(room);
    if (!sk || sk.chainId !== chainId) return;
    const to = await this.#recipients(room);
    const prev = to && to.chainId === chainId ? to.users : [];
    const all = [...new Set([...prev, ...users])];
    await this.store.commit({ put: { [`skto:${room}`]: { chainId, users: all } }, del: [] });
  }

  /** Encrypts one message with my chain (call `planSend()` first); commits the advanced chain. */
  async encrypt(room: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const sk = await this.#mine(room);
    if (!sk) throw new Error(`No sender key for ${room}: call planSend() first`);
    const r = await encryptRoom(sk, plaintext, this.#ad(this.me));
    await this.store.commit({ put: { [`sk:${room}`]: r.state }, del: [] });
    return r.message;
  }

  /** A member left or was kicked: my chain must rotate and their chains (of `addresses`) are forgotten. */
  async memberLeft(room: string, user: string, addresses: readonly string[] = []): Promise<void> {
    const put: Record<string, unknown> = {};
    const sk = await this.#mine(room);
    if (sk && user !== this.me) put[`sk:${room}`] = markRotate(sk);
    const del = [...new Set([user, ...addresses])].map((a) => `rk:${room}:${a}`);
    if (user === this.me) del.push(`sk:${room}`, `skto:${room}`);
    await this.store.commit({ put, del });
  }

  /** My chain for `room` rotates before its next use (a 0.1.0 room just got its log: client/e2e/room_log.ts). */
  async rotate(room: string): Promise<void> {
    const sk = await this.#mine(room);
    if (sk) await this.store.commit({ put: { [`sk:${room}`]: markRotate(sk) }, del: [] });
  }

  /** Writes that install `sender`'s distribution (commit them with the consumed control message). */
  async acceptDistribution(sender: string, dist: SenderKeyDistribution): Promise<StoreWrites> {
    const key = `rk:${dist.room}:${sender}`;
    const prev = ((await this.store.get(key)) as RoomReceiverState | undefined) ?? null;
    return { put: { [key]: processDistribution(prev, sender, dist) }, del: [] };
  }

  /** True when I hold a chain of `sender` in `room`. */
  async knows(room: string, sender: string): Promise<boolean> {
    return (await this.store.get(`rk:${room}:${sender}`)) !== undefined;
  }

  /**
   * Verifies and decrypts a room message on a copy of the state; commit `writes` with the message.
   * Throws `DecryptError` (no chain of this sender, bad signature or tag), `ReplayError`,
   * `TooFarAheadError` or `SyntaxError`.
   */
  async open(
    room: string,
    sender: string,
    message: Uint8Array,
    addresses: readonly string[] = [],
  ): Promise<OpenedRoomMessage> {
    const { header } = parseRoomMessage(message);
    let key = `rk:${room}:${sender}`;
    let r = (await this.store.get(key)) as RoomReceiverState | undefined;
    const has = (x: RoomReceiverState | undefined) =>
      x?.chains.some((c) => c.chainId === header.chainId && c.epoch === header.epoch) ?? false;
    for (const a of addresses) {
      if (has(r)) break;
      const k = `rk:${room}:${a}`;
      const x = (await this.store.get(k)) as RoomReceiverState | undefined;
      if (has(x)) [key, r] = [k, x];
    }
    if (!r) throw new DecryptError(`No sender key from ${sender} in ${room}`);
    const d = await decryptRoom(r, message, this.#ad(sender), this.clock.now());
    return { plaintext: d.plaintext, header: d.header, writes: { put: { [key]: d.state }, del: [] } };
  }
}
