/**
 * Room keys for a room made by Parley 0.1.0 that has no membership log yet (room_log.ts): instead
 * of being refused, they are held in the keystore ("held:<room>", the last MAX_HELD per room)
 * until the room's admin has signed its log, then installed for the senders that log lets in
 * (`RoomLogs.refusal`, the same rule as for any room key) and dropped, with a notice, otherwise.
 * The caller commits the writes under its lock, with the control message they come from.
 */
import type { RoomManager } from "../../crypto/room_manager.ts";
import type { SenderKeyDistribution } from "../../crypto/sender_key_state.ts";
import { mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { RoomLogs } from "./room_log.ts";

/** How many room keys one room holds at most (a member sending key after key cannot grow it further). */
const MAX_HELD = 32;

/** A held room key: the sender's device address, its user, the key. */
export interface Held {
  from: string;
  user: string;
  dist: SenderKeyDistribution;
}

const keyOf = (room: string) => `held:${room}`;

/** The writes that hold `h` for its room. */
export async function holdKey(cs: SqliteCryptoStore, h: Held): Promise<StoreWrites> {
  const held = ((await cs.get(keyOf(h.dist.room))) as Held[] | undefined) ?? [];
  return { put: { [keyOf(h.dist.room)]: [...held, h].slice(-MAX_HELD) }, del: [] };
}

/**
 * Installs what the room's verified log now allows (writes committed here) and answers the users
 * whose keys are still held (the room still has no log).
 */
export async function releaseHeld(
  cs: SqliteCryptoStore,
  logs: RoomLogs,
  rooms: RoomManager,
  room: string,
  warn: (text: string) => void,
): Promise<string[]> {
  const held = (await cs.get(keyOf(room))) as Held[] | undefined;
  if (!held) return [];
  let w: StoreWrites = { put: {}, del: [] };
  const keep: Held[] = [];
  for (const h of held) {
    const refused = await logs.refusal(room, h.user);
    if (refused === null) w = mergeWrites(w, await rooms.acceptDistribution(h.from, h.dist));
    else if (logs.unlogged(room)) keep.push(h);
    else if (refused) warn(`A room key from ${h.user} for #${room} was refused: ${refused}`);
  }
  if (keep.length < held.length) {
    if (keep.length) w.put[keyOf(room)] = keep;
    else w.del.push(keyOf(room));
    await cs.commit(w);
  }
  return keep.map((h) => h.user);
}
