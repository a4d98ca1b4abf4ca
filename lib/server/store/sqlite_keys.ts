/**
 * The keys of the embedded store's older messages (issue 73), in SQLite beside their rows: the
 * lists of table_messages.ts's in-memory index (message_index.ts: a user's DMs, a room's, the
 * broadcasts, a sender's, a conversation's), moved here once the messages are no longer among the
 * newest, as chunks — one row per list per move, its entries packed as seq_list.ts packs them —, so
 * that neither a start nor memory grows with history and a move writes a few rows, not one per
 * message (a row per message with four indexes cost ~45 µs a message). `key_chunks` holds the
 * entries of every stored message with seq ≤ `upto` (`message_keys_mark`); `key_names` the names
 * the entries' integers stand for; `message_totals` each sender's count and body bytes there. A move
 * writes its chunks, the names new since the last one, the totals and the mark in one transaction;
 * a deletion of a message at or below the mark marks its entries dead in its row's transaction
 * (sqlite_store.ts). The migration making these tables is in migrations.ts.
 */
import { LIST_SHAPE, type ListKind, type TakenChunks } from "./message_index.ts";
import { SeqList } from "./seq_list.ts";
import type { Row, Statement } from "./sqlite_base.ts";
import type { SenderTotal } from "./table_messages.ts";

/** Chunks a walk reads at once. */
const PAGE = 16;

/** An empty list of `list`'s shape (its kind: the name's prefix). */
function shapeOf(list: string): readonly [number, number] {
  const s = LIST_SHAPE[list[0] as ListKind];
  if (!s || list[1] !== ":") throw new Error(`key list ${list}`);
  return s;
}

export class SqliteKeys {
  constructor(readonly q: (sql: string) => Statement) {}

  /** The highest seq whose keys are here. */
  upto(): number {
    return Number(
      (this.q("SELECT upto FROM message_keys_mark WHERE id = 1").get() as Row | undefined)?.upto ?? 0,
    );
  }

  /** The names the chunks' integers stand for, by id. */
  names(): string[] {
    return (this.q("SELECT name FROM key_names ORDER BY id").all() as Row[]).map((r) => r.name as string);
  }

  /** Every sender's totals of the messages keyed here. */
  totals(): Map<string, SenderTotal> {
    const rows = this.q("SELECT sender, messages, bytes FROM message_totals").all() as Row[];
    return new Map(
      rows.map((r) => [r.sender as string, { messages: Number(r.messages), bytes: Number(r.bytes) }]),
    );
  }

  /** Inside the caller's write transaction: a move's chunks, the names from id `namesFrom` on, the totals and the mark. */
  keep(t: TakenChunks, names: readonly string[], namesFrom: number, upto: number): void {
    const name = this.q("INSERT INTO key_names (id, name) VALUES (?, ?)");
    for (let id = namesFrom; id < names.length; id++) name.run(id, names[id]!);
    const chunk = this.q("INSERT INTO key_chunks (list, first_seq, last_seq, data) VALUES (?, ?, ?, ?)");
    for (const c of t.chunks) chunk.run(c.list, c.first, c.last, c.data);
    const up = this.q(
      `INSERT INTO message_totals (sender, messages, bytes) VALUES (?, ?, ?)
       ON CONFLICT (sender) DO UPDATE SET messages = messages + excluded.messages, bytes = bytes + excluded.bytes`,
    );
    for (const [sender, s] of t.totals) up.run(sender, s.messages, s.bytes);
    this.q("UPDATE message_keys_mark SET upto = ? WHERE id = 1").run(upto);
  }

  /** How many names are kept (the next move's names start there). */
  nameCount(): number {
    return Number((this.q("SELECT COUNT(*) AS n FROM key_names").get() as Row).n);
  }

  /**
   * Inside the caller's transaction: the entries of a deleted message (seq ≤ the mark) in `lists`
   * are marked dead, and `sender`'s totals lose it (`bytes`: its body).
   */
  drop(seq: number, lists: readonly string[], sender: string, bytes: number): void {
    const find = this.q(
      "SELECT id, first_seq, data FROM key_chunks WHERE list = ? AND last_seq >= ? ORDER BY last_seq LIMIT 1",
    );
    const put = this.q("UPDATE key_chunks SET data = ? WHERE id = ?");
    for (const list of lists) {
      const r = find.get(list, seq) as Row | undefined;
      if (!r || Number(r.first_seq) > seq) continue;
      const [floats, ints] = shapeOf(list), l = SeqList.ofBytes(r.data as Uint8Array, floats, ints);
      const k = l.find(seq);
      if (k < 0) continue;
      l.mark(k);
      put.run(l.bytes(), r.id as number);
    }
    this.q(
      "UPDATE message_totals SET messages = messages - 1, bytes = bytes - ? WHERE sender = ?",
    ).run(bytes, sender);
    this.q("DELETE FROM message_totals WHERE messages <= 0").run();
  }

  /** The chunks of `list` holding seqs above `after`, oldest first. */
  *after(list: string, after: number): Generator<SeqList> {
    const [floats, ints] = shapeOf(list);
    const st = this.q(
      `SELECT last_seq, data FROM key_chunks WHERE list = ? AND last_seq > ? ORDER BY last_seq LIMIT ${PAGE}`,
    );
    for (let at = after;;) {
      const rows = st.all(list, at) as Row[];
      for (const r of rows) yield SeqList.ofBytes(r.data as Uint8Array, floats, ints);
      if (rows.length < PAGE) return;
      at = Number(rows[rows.length - 1]!.last_seq);
    }
  }

  /** The chunks of `list` holding seqs below `before`, newest first. */
  *before(list: string, before: number): Generator<SeqList> {
    const [floats, ints] = shapeOf(list);
    const st = this.q(
      `SELECT first_seq, data FROM key_chunks WHERE list = ? AND first_seq < ? ORDER BY last_seq DESC LIMIT ${PAGE}`,
    );
    for (let at = before;;) {
      const rows = st.all(list, at) as Row[];
      for (const r of rows) yield SeqList.ofBytes(r.data as Uint8Array, floats, ints);
      if (rows.length < PAGE) return;
      at = Number(rows[rows.length - 1]!.first_seq);
    }
  }
}
