/**
 * Rooms for the same people: before a room is created, the client looks for a room it is in whose
 * members are exactly the new room's (the creator plus the named members, names compared after
 * normalisation). Finding one, creation stops with a `room_exists` error naming it, unless the user
 * asked for another room anyway (`--new` in the scripted client and in `/room create`). Pure.
 */
import { normalizeName } from "../../protocol/names.ts";
import { BackendError, type RoomInfo } from "../backend.ts";

const key = (n: string) => normalizeName(n) ?? n;

/** The room among `rooms` whose members are exactly `me` plus `members`, or null. */
function roomWithSameMembers(
  rooms: readonly RoomInfo[],
  me: string,
  members: readonly string[],
): RoomInfo | null {
  const want = new Set([me, ...members].map(key));
  for (const r of rooms) {
    const have = new Set(r.members.map(key));
    if (have.size === want.size && [...want].every((n) => have.has(n))) return r;
  }
  return null;
}

/** Throws `room_exists` when a room for the same people exists; `again` says how to make another. */
export function refuseTwinRoom(
  rooms: readonly RoomInfo[],
  me: string,
  members: readonly string[],
  again: string,
): void {
  const twin = roomWithSameMembers(rooms, me, members);
  if (!twin) return;
  throw new BackendError(
    "room_exists",
    `#${twin.name} already has exactly these members (${
      twin.members.join(", ")
    }); ${again} to make another room`,
  );
}
