/**
 * History text at rest (issue 10 item 10). `HistorySealer` seals the text of messages, outbox
 * entries and earlier versions of edited messages with AES-256-GCM under a key derived from the
 * keystore key (HKDF label "parley-local-history-v1"), each bound to its row by associated data
 * (`msgAd`, `outAd`, `editAd`: a sealed text cannot be moved to another row). Until `unlock` text is
 * kept as is; `unlock` seals the plaintext rows written before, `rekey` (a password change) seals
 * every sealed row again under the new key. Opening a sealed text while locked is a
 * `BackendError("locked")`.
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";
import { aesGcmOpenSync, aesGcmSealSync, hkdfSha256Sync } from "../../crypto/primitives.ts";
import { BackendError } from "../backend.ts";
import { type Row, type SqlDb, type SqlValue, writeTx } from "./local_store_sql.ts";

/** What binds a message's text to its row. */
export const msgAd = (seq: unknown, mid: unknown): Uint8Array => utf8.encode(`parley-msg\0${seq}\0${mid}`);
/** What binds an outbox entry's text to its row. */
export const outAd = (mid: unknown): Uint8Array => utf8.encode(`parley-outbox\0${mid}`);
/** What binds an earlier version of an edited message to its row. */
export const editAd = (seq: unknown, n: unknown): Uint8Array => utf8.encode(`parley-edit\0${seq}\0${n}`);

/** The key history and outbox text are sealed under, from the keystore key. */
function historyKey(keystoreKey: Uint8Array): Uint8Array {
  return hkdfSha256Sync(keystoreKey, new Uint8Array(0), utf8.encode("parley-local-history-v1"), 32);
}

/** The tables whose `text` is sealed: how a row is read, written back, and bound. */
const SEALED_TEXT: { select: string; update: string; ad(r: Row): Uint8Array; key(r: Row): SqlValue[] }[] = [
  {
    select: "SELECT seq, mid, text FROM messages",
    update: "UPDATE messages SET text = ? WHERE seq = ?",
    ad: (r) => msgAd(r.seq, r.mid),
    key: (r) => [r.seq as number],
  },
  {
    select: "SELECT mid, text FROM outbox",
    update: "UPDATE outbox SET text = ? WHERE mid = ?",
    ad: (r) => outAd(r.mid),
    key: (r) => [r.mid as string],
  },
  {
    select: "SELECT seq, n, text FROM edits",
    update: "UPDATE edits SET text = ? WHERE seq = ? AND n = ?",
    ad: (r) => editAd(r.seq, r.n),
    key: (r) => [r.seq as number, r.n as number],
  },
];

/** Replaces every text stored as `type` ("text": plaintext, "blob": sealed) by `f` of it; the rows changed. */
function rewriteTexts(
  db: SqlDb,
  type: "text" | "blob",
  f: (v: unknown, ad: Uint8Array) => Uint8Array,
): number {
  let changed = 0;
  for (const t of SEALED_TEXT) {
    const rows = db.prepare(`${t.select} WHERE typeof(text) = '${type}'`).all() as Row[];
    const up = db.prepare(t.update);
    for (const r of rows) up.run(f(r.text, t.ad(r)), ...t.key(r));
    changed += rows.length;
  }
  return changed;
}

/** Seals and opens history text; holds the key once the keystore is open. */
export class HistorySealer {
  /** Null until the keystore is open: text is stored as is. */
  #key: Uint8Array | null = null;

  /** `text` sealed for the row `ad` names, or `text` itself while locked. */
  seal(text: string, ad: Uint8Array): Uint8Array | string {
    return this.#key ? aesGcmSealSync(this.#key, utf8.encode(text), ad) : text;
  }

  /** The text of a stored value (plaintext as is; sealed opened, which needs the key). */
  open(v: unknown, ad: Uint8Array): string {
    if (typeof v === "string") return v;
    if (!this.#key) throw new BackendError("locked", "The local history is sealed: open the keystore first");
    return utf8Strict.decode(aesGcmOpenSync(this.#key, v as Uint8Array, ad));
  }

  /** From now on text is sealed under a key from `keystoreKey`; plaintext rows are sealed now. Rows sealed. */
  unlock(db: SqlDb, keystoreKey: Uint8Array): number {
    const key = this.#key = historyKey(keystoreKey);
    return writeTx(
      db,
      () => rewriteTexts(db, "text", (v, ad) => aesGcmSealSync(key, utf8.encode(String(v)), ad)),
    );
  }

  /** Sealed text is sealed again under the key from `keystoreKey` (in the caller's transaction, if any). */
  rekey(db: SqlDb, keystoreKey: Uint8Array): void {
    const next = historyKey(keystoreKey);
    writeTx(
      db,
      () => rewriteTexts(db, "blob", (v, ad) => aesGcmSealSync(next, utf8.encode(this.open(v, ad)), ad)),
    );
    this.#key = next;
  }
}
