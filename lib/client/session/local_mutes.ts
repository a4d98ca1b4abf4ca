/**
 * Muted conversations (`/mute`, `ChatBackend.mutes`): a table of the client folder's local store,
 * so that every process of the folder and the next start see the same list. A conversation is
 * named as lists name it ("#room", a user's name, "*" for broadcasts); what it means to be muted is
 * the screen's business (tui/chat_state.ts). Names are normalised here, the one home of that rule
 * for this list.
 */
import type { MuteList } from "../backend.ts";
import { BackendError } from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";
import { type Row, type SqlDb, writeTx } from "./local_store_sql.ts";

/** `conv` as the list keeps it ("#dev", "bob", "*"), or a refusal naming it. */
export function muteName(conv: string): string {
  if (conv === "*") return conv;
  const room = conv.startsWith("#");
  const name = normalizeName(room ? conv.slice(1) : conv.replace(/^@/, ""));
  if (!name) throw new BackendError("usage", `"${conv}" names no conversation (#ROOM, USER or *)`);
  return room ? `#${name}` : name;
}

/** The muted conversations of the store `db`, sorted. */
function listMuted(db: SqlDb): string[] {
  return (db.prepare("SELECT conv FROM muted ORDER BY conv").all() as Row[]).map((r) => String(r.conv));
}

/** The mute list over the store `db` (its clock gives each entry its time). */
export function muteList(db: SqlDb, now: () => number): MuteList {
  return {
    list: () => Promise.resolve(listMuted(db)),
    set: (conv, on) =>
      Promise.resolve().then(() => {
        const name = muteName(conv);
        return writeTx(db, () => {
          if (on) db.prepare("INSERT OR IGNORE INTO muted (conv, at) VALUES (?, ?)").run(name, now());
          else db.prepare("DELETE FROM muted WHERE conv = ?").run(name);
          return listMuted(db);
        });
      }),
  };
}
