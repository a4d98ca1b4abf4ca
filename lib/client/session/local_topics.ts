/**
 * Room topics (`/topic`, `RoomControls.topic`): a table of the client folder's local store holding
 * each room's newest topic (its text, who set it, when). A setting older than the one held loses, so
 * settings may arrive in any order (a re-send to a new member carries the time it was first set).
 * The setting lines themselves are messages of the room (e2e/apply.ts `receiveTopic`).
 */
import type { RoomTopic } from "../backend.ts";
import type { Row, SqlDb } from "./local_store_sql.ts";

/**
 * Records `t` as the topic of conversation `conv` unless the one held is as new or newer; whether
 * it is the topic now. Runs inside the caller's transaction (the ratchet step's).
 */
export function setTopic(db: SqlDb, conv: string, t: RoomTopic): boolean {
  const held = topicOf(db, conv);
  if (held && held.at >= t.at) return false;
  db.prepare(
    `INSERT INTO topics (conv, text, by, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (conv) DO UPDATE SET text = excluded.text, by = excluded.by, at = excluded.at`,
  ).run(conv, t.text, t.by, t.at);
  return true;
}

/** The topic of conversation `conv`, or undefined when none was ever set (one cleared has text ""). */
export function topicOf(db: SqlDb, conv: string): RoomTopic | undefined {
  const r = db.prepare("SELECT text, by, at FROM topics WHERE conv = ?").get(conv) as Row | undefined;
  return r ? { text: String(r.text), by: String(r.by), at: Number(r.at) } : undefined;
}
