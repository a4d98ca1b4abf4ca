/**
 * Muted conversations (`/mute`, `ChatBackend.local.mutes`): a table of the client folder's local store,
 * so that every process of the folder and the next start see the same list. A conversation is
 * named as lists name it ("#room", a user's name, "*" for broadcasts); what it means to be muted is
 * the screen's business (tui/chat_state.ts). Names are normalised here, the one home of that rule
 * for this list.
 */
import type { MuteList } from "../backend.ts";
import { BackendError } from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { SqlDb } from "./local_store_sql.ts";
import { storedSet } from "./local_name_set.ts";

/** `conv` as the list keeps it ("#dev", "bob", "*"), or a refusal naming it. */
export function muteName(conv: string): string {
  if (conv === "*") return conv;
  const room = conv.startsWith("#");
  const name = normalizeName(room ? conv.slice(1) : conv.replace(/^@/, ""));
  if (!name) throw new BackendError("usage", `"${conv}" names no conversation (#ROOM, USER or *)`);
  return room ? `#${name}` : name;
}

/** The mute list over the store `db` (its clock gives each entry its time). */
export function muteList(db: SqlDb, now: () => number): MuteList {
  return storedSet(db, "muted", "conv", muteName, now);
}
