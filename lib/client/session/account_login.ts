/**
 * Registering and logging in without showing the server the password (issue 10, item 11): the
 * password goes through argon2id on the client (lib/crypto/account_kdf.ts) and only the derived
 * credential is sent; the keystore key comes from the same hash under another label.
 *
 * - register: fresh salt and parameters (`params`), sent with the credential.
 * - login: asks the account's record (`kdf`), checks it between `floor` and the ceiling, then
 *   sends the credential (with `remember`, asking for a resume token).
 * - token: a remembered resume token instead (no hashing; no keystore key comes of it).
 * - an account from before: a client folder whose keystore was opened with the password itself is
 *   the sign. That folder logs in with the password once more and, in the same session, replaces
 *   the server's credential (`account.rekey`); afterwards it logs in like any other. (If another
 *   folder upgraded the account already, the password is refused and the normal login follows.)
 *   Without such a folder a client never sends the password, so a server cannot ask for it.
 */
import {
  type AccountSecrets,
  accountSecrets,
  checkAccountKdf,
  newAccountKdf,
} from "../../crypto/account_kdf.ts";
import { type Argon2Params, OWASP_ARGON2 } from "../../crypto/at_rest.ts";
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from "../../crypto/password.ts";
import { utf8 } from "../../common/bytes.ts";
import { BackendError } from "../backend.ts";
import type { Connection } from "./connection.ts";
import type { LocalStore } from "./local_store.ts";

/** Client-side hashing: `params` for new accounts, `floor` the weakest accepted from a server. */
export interface KdfPolicy {
  params?: Argon2Params;
  floor?: Argon2Params;
}

export interface Credentials {
  user: string;
  password: string;
  register?: boolean;
  /** The account's client folder, if any (an account from before is upgraded through it). */
  store?: LocalStore;
  kdf?: KdfPolicy;
  /** A remembered resume token: logs in without the password (and without the account's secrets). */
  token?: string;
  /** Asks the server for a resume token with this password login (the reply's `token`). */
  remember?: boolean;
  /** Registering: an admin's one-time invitation code (servers with `--registration invite`). */
  invite?: string;
  /**
   * This folder's device proof for this session (a reconnect of a client with its keystore open):
   * sent with the password again when the first answer is `locked` (issue 69 D1: a proven device
   * goes through a lockout). A server from before it refuses the fields: the first answer stands.
   */
  proveDevice?: () => Promise<Record<string, unknown> | null>;
}

/** Registers or logs in on `conn`; resolves with the server's reply header and the derived secrets. */
export async function authenticate(
  conn: Connection,
  o: Credentials,
): Promise<{ header: Record<string, unknown>; secrets?: AccountSecrets }> {
  if (o.token !== undefined) {
    const r = await conn.request("login", { user: o.user, token: o.token });
    return { header: r.header };
  }
  const params = o.kdf?.params ?? OWASP_ARGON2;
  if (o.register) {
    checkNewPassword(o.password);
    const secrets = await accountSecrets(o.password, newAccountKdf(params));
    const r = await conn.request("register", {
      user: o.user,
      password: secrets.credential,
      kdf: secrets.kdf,
      ...(o.invite ? { invite: o.invite } : {}),
    });
    return { header: r.header, secrets };
  }
  // The keystore's module (and SQLite's) loads only with a store: a token login never needs it (issue 75).
  if (o.store && (await import("./crypto_store.ts")).SqliteCryptoStore.isLegacy(o.store.db)) {
    try {
      const r = await conn.request("login", {
        user: o.user,
        password: o.password,
        ...(o.remember ? { remember: true } : {}),
      });
      const secrets = await accountSecrets(o.password, newAccountKdf(params));
      await conn.request("account.rekey", {
        old: o.password,
        password: secrets.credential,
        kdf: secrets.kdf,
      });
      return { header: r.header, secrets };
    } catch (e) {
      if (!(e instanceof BackendError && e.code === "bad_credentials")) throw e;
    }
  }
  const k = await conn.request("kdf", { user: o.user });
  let kdf;
  try {
    kdf = checkAccountKdf(k.header.kdf, o.kdf?.floor ?? OWASP_ARGON2);
  } catch (e) {
    throw new BackendError(
      "bad_kdf",
      `The server's password hashing record is refused: ${(e as Error).message}`,
    );
  }
  const secrets = await accountSecrets(o.password, kdf);
  const fields = { user: o.user, password: secrets.credential, ...(o.remember ? { remember: true } : {}) };
  const r = await conn.request("login", fields).catch((e) => lockedRetry(conn, fields, o, e));
  return { header: r.header, secrets };
}

/** A `locked` answer, tried once more with the device's proof (`proveDevice`); any other failure stands. */
async function lockedRetry(
  conn: Connection,
  fields: Record<string, unknown>,
  o: Credentials,
  e: unknown,
): Promise<{ header: Record<string, unknown> }> {
  const proof = e instanceof BackendError && e.code === "locked" ? await o.proveDevice?.() : null;
  if (!proof) throw e;
  return await conn.request("login", { ...fields, ...proof }).catch((again) => {
    // A server without device proofs at login refuses the fields (`invalid`): its lockout stands.
    throw again instanceof BackendError && again.code === "invalid" ? e : again;
  });
}

/** The server cannot check a password it never sees: the client does, before registering (or a change). */
export function checkNewPassword(pw: string): void {
  if (utf8.encode(pw).length > MAX_PASSWORD_BYTES) {
    throw new BackendError("weak_password", `Passwords are at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  if ([...pw].length < MIN_PASSWORD_CHARS) {
    throw new BackendError("weak_password", `Passwords need at least ${MIN_PASSWORD_CHARS} characters`);
  }
}
