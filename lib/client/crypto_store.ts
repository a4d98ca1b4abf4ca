/**
 * `SqliteCryptoStore`: the client's `CryptoStateStore` in its local database (the same SQLite file
 * as the message history, own tables). Every value — identity and prekey private keys, ratchet
 * and sender-key state, contacts — is sealed at rest with AES-256-GCM under a key derived once
 * per process from the user's password with argon2id (`e2e_meta` holds the salt and parameters,
 * and a sealed check value so a wrong password is reported as such). Each row's AD is its key.
 *
 * `commit(writes, also)` seals first, then applies every put/delete and runs `also(db)` (e.g.
 * saving the decrypted message) in ONE transaction. Reads are served from an in-process cache of
 * opened values, dropped (`dropCache`) whenever another process on the folder committed: the
 * codec runs every operation inside `LocalStore.exclusive`, which checks that first.
 */
import type { DatabaseSync } from "node:sqlite";
import { utf8, utf8Strict } from "../common/bytes.ts";
import {
  type Argon2Params,
  deriveAtRestKey,
  openRecord,
  OWASP_ARGON2,
  sealRecord,
  WrongPasswordError,
} from "../crypto/at_rest.ts";
import type { CryptoStateStore, StoreWrites } from "../crypto/state_store.ts";
import { BackendError } from "./backend.ts";
import { LocalStore } from "./local_store.ts";

type Row = Record<string, unknown>;
const CHECK = "parley-keystore-check";

export class SqliteCryptoStore implements CryptoStateStore {
  readonly #cache = new Map<string, string | null>();

  private constructor(readonly db: DatabaseSync, readonly key: Uint8Array) {}

  /** Opens (or creates) the keystore tables in `db`; rejects with `bad_keystore_password` on a wrong password. */
  static async open(
    db: DatabaseSync,
    password: string,
    params: Argon2Params = OWASP_ARGON2,
  ): Promise<SqliteCryptoStore> {
    db.exec(`CREATE TABLE IF NOT EXISTS e2e_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS e2e_state (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS e2e_consumed (seq INTEGER PRIMARY KEY, conv TEXT NOT NULL);`);
    const get = (k: string) =>
      (db.prepare("SELECT v FROM e2e_meta WHERE k = ?").get(k) as Row | undefined)?.v as
        | Uint8Array
        | undefined;
    let salt = get("salt");
    const stored = get("params");
    if (!salt || !stored) {
      salt = crypto.getRandomValues(new Uint8Array(16));
      const key = await deriveAtRestKey(password, salt, params);
      const check = await sealRecord(key, utf8.encode(CHECK), utf8.encode("check"));
      const ins = db.prepare("INSERT OR IGNORE INTO e2e_meta (k, v) VALUES (?, ?)");
      // Another process on the folder may have created the keystore meanwhile: the first one wins.
      const won = LocalStore.tx(db, () => {
        ins.run("salt", salt!);
        ins.run("params", utf8.encode(JSON.stringify(params)));
        ins.run("check", check);
        return get("salt")!.every((b, i) => b === salt![i]);
      });
      if (won) return new SqliteCryptoStore(db, key);
      return await SqliteCryptoStore.open(db, password, params);
    }
    const p = JSON.parse(utf8Strict.decode(stored)) as Argon2Params;
    const key = await deriveAtRestKey(password, salt, p);
    try {
      await openRecord(key, get("check") ?? new Uint8Array(0), utf8.encode("check"));
    } catch (e) {
      if (e instanceof WrongPasswordError || e instanceof SyntaxError) {
        throw new BackendError(
          "bad_keystore_password",
          "The password does not open this account's encryption keys in the client folder",
        );
      }
      throw e;
    }
    return new SqliteCryptoStore(db, key);
  }

  async get(key: string): Promise<unknown> {
    let json = this.#cache.get(key);
    if (json === undefined) {
      const row = this.db.prepare("SELECT v FROM e2e_state WHERE k = ?").get(key) as Row | undefined;
      json = row
        ? utf8Strict.decode(await openRecord(this.key, row.v as Uint8Array, utf8.encode(key)))
        : null;
      this.#cache.set(key, json);
    }
    return json === null ? undefined : JSON.parse(json);
  }

  /** Applies the writes and runs `also` in one transaction. */
  async commit(w: StoreWrites, also?: (db: DatabaseSync) => void): Promise<void> {
    const sealed: [string, string, Uint8Array][] = [];
    for (const [k, v] of Object.entries(w.put)) {
      const json = JSON.stringify(v);
      sealed.push([k, json, await sealRecord(this.key, utf8.encode(json), utf8.encode(k))]);
    }
    const put = this.db.prepare("INSERT OR REPLACE INTO e2e_state (k, v) VALUES (?, ?)");
    const del = this.db.prepare("DELETE FROM e2e_state WHERE k = ?");
    LocalStore.tx(this.db, () => {
      for (const [k, , v] of sealed) put.run(k, v);
      for (const k of w.del) del.run(k);
      also?.(this.db);
    });
    for (const [k, json] of sealed) this.#cache.set(k, json);
    for (const k of w.del) this.#cache.set(k, null);
  }

  /** Every stored key that starts with `prefix` (e.g. "contact:"), sorted. */
  keysWith(prefix: string): string[] {
    const rows = this.db.prepare("SELECT k FROM e2e_state WHERE substr(k, 1, ?) = ? ORDER BY k")
      .all(prefix.length, prefix) as Row[];
    return rows.map((r) => r.k as string);
  }

  /** Forgets every opened value: another process on the folder changed the state. */
  dropCache(): void {
    this.#cache.clear();
  }

  /** Records a consumed control message (inside a `commit`'s `also`). */
  static markConsumed(db: DatabaseSync, seq: number, conv: string): void {
    db.prepare("INSERT OR IGNORE INTO e2e_consumed (seq, conv) VALUES (?, ?)").run(seq, conv);
  }

  /** True when the message `seq` was already consumed as a control message. */
  consumed(seq: number): boolean {
    return this.db.prepare("SELECT 1 FROM e2e_consumed WHERE seq = ?").get(seq) !== undefined;
  }
}
