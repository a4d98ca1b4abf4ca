/**
 * `SqliteCryptoStore`: the client's `CryptoStateStore` in its local database (the same SQLite file
 * as the message history, own tables). Every value — identity and prekey private keys, ratchet
 * and sender-key state, contacts — is sealed at rest with AES-256-GCM under the keystore key
 * derived from the user's password at login (argon2id, then HKDF with its own label: the server's
 * credential comes from another label; lib/crypto/account_kdf.ts). `e2e_meta` holds the account's
 * hashing record and a sealed check value, so a wrong password is reported as such. Each row's AD
 * is its key. A keystore from before (sealed under argon2id of the password itself: `salt`,
 * `params`) is opened that way once and sealed again under the new key.
 *
 * `commit(writes, also)` seals first, then applies every put/delete and runs `also(db)` (e.g.
 * saving the decrypted message) in ONE transaction. Reads are served from an in-process cache of
 * opened values, dropped (`dropCache`) whenever another process on the folder committed: the
 * codec runs every operation inside `LocalStore.exclusive`, which checks that first.
 */
import type { DatabaseSync } from "node:sqlite";
import { utf8, utf8Strict } from "../../common/bytes.ts";
import {
  type Argon2Params,
  deriveAtRestKey,
  openRecord,
  OWASP_ARGON2,
  sealRecord,
  WrongPasswordError,
} from "../../crypto/at_rest.ts";
import { type AccountSecrets, accountSecrets, checkAccountKdf, sameKdf } from "../../crypto/account_kdf.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import { BackendError } from "../backend.ts";
import { LocalStore } from "./local_store.ts";

type Row = Record<string, unknown>;
const CHECK = "parley-keystore-check";

export class SqliteCryptoStore implements CryptoStateStore {
  readonly #cache = new Map<string, string | null>();

  /** The keystore key (replaced by `reseal` on a password change). */
  key: Uint8Array;

  private constructor(readonly db: DatabaseSync, key: Uint8Array) {
    this.key = key;
  }

  /** True when `db` holds a keystore opened with the password itself (before issue 10's item 11). */
  static isLegacy(db: DatabaseSync): boolean {
    try {
      return db.prepare("SELECT 1 FROM e2e_meta WHERE k = 'salt'").get() !== undefined;
    } catch {
      return false; // no keystore tables yet
    }
  }

  /**
   * Opens (or creates) the keystore tables in `db` with the key `account` derived from the password
   * (lib/crypto/account_kdf.ts); rejects with `bad_keystore_password` when it does not open them.
   * A folder whose record differs from the account's (upgraded elsewhere) derives its own key from
   * `password` with its stored, bounded record; a keystore sealed under the password itself is
   * sealed again under the account's key.
   */
  static async open(
    db: DatabaseSync,
    password: string,
    account: AccountSecrets,
    floor: Argon2Params = OWASP_ARGON2,
  ): Promise<SqliteCryptoStore> {
    db.exec(`CREATE TABLE IF NOT EXISTS e2e_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS e2e_state (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS e2e_consumed (seq INTEGER PRIMARY KEY, conv TEXT NOT NULL);`);
    const get = (k: string) =>
      (db.prepare("SELECT v FROM e2e_meta WHERE k = ?").get(k) as Row | undefined)?.v as
        | Uint8Array
        | undefined;
    const stored = get("kdf");
    if (stored) {
      let kdf;
      try {
        kdf = checkAccountKdf(JSON.parse(utf8Strict.decode(stored)), floor);
      } catch (e) {
        throw new BackendError(
          "bad_keystore",
          `The keystore's hashing record is refused: ${(e as Error).message}`,
        );
      }
      const same = sameKdf(kdf, account.kdf);
      const key = same ? account.keystoreKey : (await accountSecrets(password, kdf)).keystoreKey;
      await checkKey(key, get("check"), same ? "" : CHANGED_ELSEWHERE);
      return new SqliteCryptoStore(db, key);
    }
    if (get("salt")) return await SqliteCryptoStore.#upgrade(db, password, account, get);
    const check = await sealRecord(account.keystoreKey, utf8.encode(CHECK), utf8.encode("check"));
    const kdf = utf8.encode(JSON.stringify(account.kdf));
    const ins = db.prepare("INSERT OR IGNORE INTO e2e_meta (k, v) VALUES (?, ?)");
    // Another process on the folder may have created the keystore meanwhile: the first one wins.
    const won = LocalStore.tx(db, () => {
      ins.run("kdf", kdf);
      ins.run("check", check);
      return get("kdf")!.every((b, i) => b === kdf[i]);
    });
    if (won) return new SqliteCryptoStore(db, account.keystoreKey);
    return await SqliteCryptoStore.open(db, password, account, floor);
  }

  /** Opens a keystore sealed under the password itself and seals every row again under the account's key. */
  static async #upgrade(
    db: DatabaseSync,
    password: string,
    account: AccountSecrets,
    get: (k: string) => Uint8Array | undefined,
  ): Promise<SqliteCryptoStore> {
    let p: Argon2Params;
    try {
      p = JSON.parse(utf8Strict.decode(get("params") ?? new Uint8Array(0)));
      checkAccountKdf({ salt: "00".repeat(16), ...p }, { memoryKiB: 8, iterations: 1, parallelism: 1 });
    } catch {
      throw new BackendError("bad_keystore", "The keystore's hashing parameters are out of bounds");
    }
    const old = await deriveAtRestKey(password, get("salt")!, p);
    await checkKey(old, get("check"));
    await SqliteCryptoStore.#resealAll(db, old, account, () => {
      db.exec("DELETE FROM e2e_meta WHERE k IN ('salt', 'params')");
    });
    return new SqliteCryptoStore(db, account.keystoreKey);
  }

  /**
   * Seals every row under `old` again under `next`'s keystore key and records `next`'s hashing
   * record and check value, with `also` in the same transaction.
   */
  static async #resealAll(
    db: DatabaseSync,
    old: Uint8Array,
    next: AccountSecrets,
    also: (db: DatabaseSync) => void,
  ): Promise<void> {
    const rows = db.prepare("SELECT k, v FROM e2e_state").all() as Row[];
    const resealed: [string, Uint8Array][] = [];
    for (const r of rows) {
      const ad = utf8.encode(r.k as string);
      const plain = await openRecord(old, r.v as Uint8Array, ad);
      resealed.push([r.k as string, await sealRecord(next.keystoreKey, plain, ad)]);
    }
    const check = await sealRecord(next.keystoreKey, utf8.encode(CHECK), utf8.encode("check"));
    LocalStore.tx(db, () => {
      const put = db.prepare("UPDATE e2e_state SET v = ? WHERE k = ?");
      for (const [k, v] of resealed) put.run(v, k);
      db.prepare("INSERT OR REPLACE INTO e2e_meta (k, v) VALUES (?, ?)").run(
        "kdf",
        utf8.encode(JSON.stringify(next.kdf)),
      );
      db.prepare("INSERT OR REPLACE INTO e2e_meta (k, v) VALUES ('check', ?)").run(check);
      also(db);
    });
  }

  /**
   * A password change (issue 33): every value is sealed again under `next`'s keystore key, and
   * `also` (the local history's own rekey) runs in the same transaction. Call it inside the
   * folder's `exclusive` lock.
   */
  async reseal(next: AccountSecrets, also: (db: DatabaseSync) => void = () => {}): Promise<void> {
    await SqliteCryptoStore.#resealAll(this.db, this.key, next, also);
    this.key = next.keystoreKey;
    this.#cache.clear();
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

  /**
   * `key`'s value as committed now, by this or another process of the folder: read past the cache,
   * without the folder's lock (a waiter's look for what another process may have filed).
   */
  async fresh(key: string): Promise<unknown> {
    this.#cache.delete(key);
    return await this.get(key);
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

/** The hint when the folder's hashing record is not the account's: the password may have changed. */
const CHANGED_ELSEWHERE = ' (if the password was changed from another folder, run "parley passwd" here ' +
  "with the old password and the new one)";

/** Opens the check record with `key`: `bad_keystore_password` when it does not. */
async function checkKey(key: Uint8Array, check: Uint8Array | undefined, hint = ""): Promise<void> {
  try {
    await openRecord(key, check ?? new Uint8Array(0), utf8.encode("check"));
  } catch (e) {
    if (e instanceof WrongPasswordError || e instanceof SyntaxError) {
      throw new BackendError(
        "bad_keystore_password",
        "The password does not open this account's encryption keys in the client folder" + hint,
      );
    }
    throw e;
  }
}
