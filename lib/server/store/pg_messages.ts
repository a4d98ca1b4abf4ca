/**
 * The PostgreSQL store's writes of messages and acks (postgres_store.ts runs them inside its
 * transactions): a batch's messages in one statement under the seq lock, with dense seqs in the
 * batch's order (written again with resends left out when one was stored before); a batch's acks
 * in one statement; the seq floor a deletion raises; the one read of a history page (`HISTORY_SQL`).
 */
import { toBase64 } from "../../common/bytes.ts";
import type { AckSet, NewMessage } from "./store.ts";

/**
 * Seqs are never given twice: the next one is above every stored message and above the floor kept
 * in server_meta, which a deletion of the newest rows raises (`raiseSeqFloor`).
 */
// deno-lint-ignore no-explicit-any
export type Tx = any;
/** The highest seq given so far, as an SQL fragment (read under the seq lock to give the next). */
export const seqTopSql = (tx: Tx): unknown =>
  tx`GREATEST(COALESCE((SELECT MAX(seq) FROM messages), 0),
    COALESCE((SELECT v::bigint FROM server_meta WHERE k = 'seq_floor'), 0))`;
/** Keeps `seq` from being given again after its row was deleted. */
export async function raiseSeqFloor(tx: Tx, seq: number): Promise<void> {
  await tx`INSERT INTO server_meta (k, v) VALUES ('seq_floor', ${String(seq)})
    ON CONFLICT (k) DO UPDATE SET v = GREATEST(server_meta.v::bigint, excluded.v::bigint)::text`;
}

/**
 * A page of a conversation's history ($1 conv, $2 since, $3 afterSeq, $4 limit, $5 maxBytes,
 * $6 beforeSeq): the newest $4 with ts >= $2 and $3 < seq < $6, as many of the newest as fit in $5
 * body bytes (always one), oldest first. The page's seqs come first, alone, read backward from
 * messages_conv_page (pg_migrations.ts) and cut at the limit; only those rows are then read: no sort
 * of the conversation, in a custom or a generic plan (tests/postgres_store_test.ts EXPLAINs it).
 * `conv >= $1 AND conv <= $1 … ORDER BY conv DESC, seq DESC` is `conv = $1 … ORDER BY seq DESC`
 * that only that index can answer in order: with `=`, the planner took the primary key backward for
 * a conversation holding much of the table and filtered by conv, walking past every newer message of
 * the others (600,000 rows, 0.1 s, for a conversation whose messages were all older).
 */
export const HISTORY_SQL = `
  SELECT m.* FROM messages m JOIN (
    SELECT p.seq, SUM(OCTET_LENGTH(b.body)) OVER (ORDER BY p.seq DESC ROWS UNBOUNDED PRECEDING) AS upto,
           ROW_NUMBER() OVER (ORDER BY p.seq DESC) AS n
    FROM (SELECT seq FROM messages WHERE conv >= $1 AND conv <= $1 AND ts >= $2 AND seq > $3 AND seq < $6
          ORDER BY conv DESC, seq DESC LIMIT $4) p JOIN messages b ON b.seq = p.seq
  ) w ON w.seq = m.seq WHERE w.n = 1 OR w.upto <= $5 ORDER BY m.seq`;

/**
 * Takes the seq lock (held until commit) and makes the transaction's next statements use their
 * cached generic plan (see `insertQuery`), in one statement: `set_config(…, true)` is SET LOCAL (a
 * statement less per batch: tests/pg_dm_cost_test.ts).
 */
export const seqLockGeneric = (tx: Tx, lock: number): unknown =>
  tx`SELECT pg_advisory_xact_lock(${lock}), set_config('plan_cache_mode', 'force_generic_plan', true)`;

/** A message's resend key: its sender and mid. */
export const key = (m: { sender: string; mid: string }) => `${m.sender}\n${m.mid}`;

/**
 * A batch holding a resend (`freshInsertQuery` failed on it): inserts `rows` (no two with the same
 * sender and mid) in one statement, under the seq lock: those not stored yet get the next seqs,
 * dense and in the batch's order; RETURNING names them. Run after `seqLockGeneric`: planning it
 * afresh cost ~180 µs a batch. The stored-already test is a scalar
 * subquery, an index probe per row whatever the plan: as NOT EXISTS, the generic plan made while
 * the table was small kept a hash anti join over all of it (2.9 ms for 50 rows at 20,000 stored).
 */
export function insertQuery(tx: Tx, rows: readonly NewMessage[]) {
  const [mid, sender, kind, target, conv, ts, body, expires] = columns(rows);
  return tx`WITH input AS (
      SELECT * FROM unnest(${mid}::text[], ${sender}::text[], ${kind}::text[], ${target}::text[],
        ${conv}::text[], ${ts}::bigint[], ${body}::text[], ${expires}::bigint[])
        WITH ORDINALITY AS t(mid, sender, kind, target, conv, ts, body, expires, i)
    ), fresh AS (
      SELECT * FROM input WHERE (SELECT m.seq FROM messages m
        WHERE m.sender = input.sender AND m.mid = input.mid) IS NULL
    ), top AS (SELECT ${seqTopSql(tx)} AS n)
    INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body, expires)
      SELECT top.n + ROW_NUMBER() OVER (ORDER BY fresh.i), mid, sender, kind, target, conv, ts,
        decode(body, 'base64'), expires FROM fresh, top ORDER BY fresh.i
    ON CONFLICT (sender, mid) DO NOTHING RETURNING seq, sender, mid`;
}

/**
 * The common batch's insert (no row stored before: resends are rare): every row in one statement,
 * seqs `top + 1 …` in the batch's order, answered by one row — the first seq and the count — rather
 * than a row each (parsed on the node). No probe of (sender, mid) before inserting: a resend among
 * the rows fails the statement on that unique index (`isResend`), the transaction rolls back, and
 * the batch is written again by `insertQuery`. The probe, ON CONFLICT's own check and the window over
 * the rows took over a quarter of the backend's CPU per DM (`bench cluster` B: 20 → 14 µs, issue
 * 73); a resend costs its batch a second insert (and a line in PostgreSQL's log). Run after
 * `seqLockGeneric`.
 */
export function freshInsertQuery(tx: Tx, rows: readonly NewMessage[]) {
  const [mid, sender, kind, target, conv, ts, body, expires] = columns(rows);
  return tx`WITH top AS (SELECT ${seqTopSql(tx)} AS n), ins AS (
      INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body, expires)
      SELECT top.n + t.i, t.mid, t.sender, t.kind, t.target, t.conv, t.ts, decode(t.body, 'base64'), t.expires
      FROM top, unnest(${mid}::text[], ${sender}::text[], ${kind}::text[], ${target}::text[],
        ${conv}::text[], ${ts}::bigint[], ${body}::text[], ${expires}::bigint[])
        WITH ORDINALITY AS t(mid, sender, kind, target, conv, ts, body, expires, i)
      RETURNING seq
    ) SELECT COALESCE(MIN(seq), 0) AS first, COUNT(*) AS n FROM ins`;
}

/** A batch's insert failed on a row stored before (its sender and mid): `freshInsertQuery` gives way. */
export function isResend(e: unknown): boolean {
  const x = e as { code?: unknown; constraint_name?: unknown } | null;
  return x?.code === "23505" && x.constraint_name === "messages_sender_mid_key";
}

/** The rows' columns as array literals, in the order the inserts unnest them. */
function columns(rows: readonly NewMessage[]): string[] {
  const col = (f: (m: NewMessage) => string): string => textArray(rows.map(f));
  return [
    col((m) => m.mid),
    col((m) => m.sender),
    col((m) => m.kind),
    col((m) => m.target),
    col((m) => m.conv),
    numArray(rows.map((m) => m.ts)),
    // Base64 (a third more bytes than the body; hex was twice as many, issue 73): nothing to escape.
    `{"${rows.map((m) => toBase64(m.body)).join('","')}"}`,
    numArray(rows.map((m) => m.expires ?? null)),
  ];
}

/**
 * A PostgreSQL array literal of `xs` (`{"a","b"}`), built here rather than by postgres.js element by
 * element (two regular expressions and a concatenation each: ~15 % of a batch's insert on the node,
 * issue 73): the elements are joined at once, and escaped one by one only when one of them holds a
 * quote or a backslash. Passed as one text parameter cast to text[].
 */
export function textArray(xs: readonly string[]): string {
  if (!xs.length) return "{}";
  if (!xs.some((x) => x.includes('"') || x.includes("\\"))) return `{"${xs.join('","')}"}`;
  return `{${xs.map((x) => `"${x.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
}

/** An array literal of integers (null as NULL), as `textArray`. */
export function numArray(xs: readonly (number | null)[]): string {
  return `{${xs.map((x) => x === null ? "NULL" : String(x)).join(",")}}`;
}

/**
 * Cursor moves of every ack set in one statement, one row per (user, conversation) at its highest
 * seq, in a fixed order (no deadlock between two nodes acking the same rows).
 */
export function acksQuery(tx: Tx, sets: readonly AckSet[]) {
  const top = new Map<string, { user: string; conv: string; seq: number }>();
  for (const s of sets) {
    for (const a of s.acks) {
      const k = `${s.user}\n${a.conv}`, had = top.get(k);
      if (!had) top.set(k, { user: s.user, conv: a.conv, seq: a.seq });
      else had.seq = Math.max(had.seq, a.seq);
    }
  }
  const rows = [...top.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1).map((e) => e[1]);
  return tx`INSERT INTO cursors (user_name, conv, seq)
    SELECT * FROM unnest(${textArray(rows.map((r) => r.user))}::text[],
      ${textArray(rows.map((r) => r.conv))}::text[], ${numArray(rows.map((r) => r.seq))}::bigint[])
    ON CONFLICT (user_name, conv) DO UPDATE SET seq = GREATEST(cursors.seq, excluded.seq)`;
}
