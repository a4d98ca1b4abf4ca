/**
 * Changing the account's password (issue 33): `parley passwd`.
 *
 * - `changePassword(c, new)`: a fresh salt and the new password give a new credential and keystore
 *   key (lib/crypto/account_kdf.ts); the server takes the new credential given the current one
 *   (`account.passwd`), revokes every resume token of the account and ends its other sessions (a
 *   removed or lost device's login included); then this folder's keystore and history are sealed
 *   again under the new key, in one transaction.
 * - `passwdCommand`: the scripted command. The current password comes the usual way
 *   (PARLEY_PASSWORD, --password-file, a prompt), the new one from PARLEY_NEW_PASSWORD or a prompt
 *   (twice). When the server already has the new password (it was changed from another folder),
 *   it seals this folder's keys again instead: logged in with the new password, it opens the
 *   keystore with the old one.
 */
import { accountSecrets, newAccountKdf } from "../../crypto/account_kdf.ts";
import { type Argon2Params, OWASP_ARGON2 } from "../../crypto/at_rest.ts";
import { MIN_PASSWORD_CHARS } from "../../crypto/password.ts";
import { normalizeName } from "../../protocol/names.ts";
import { checkNewPassword } from "../session/account_login.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import { rememberedToken, rememberToken } from "../session/home_dir.ts";
import { LocalStore } from "../session/local_store.ts";
import {
  type ClientEnv,
  connectAndLogin,
  type ConnectFlags,
  type Prompts,
  readPassword,
  resolveTarget,
  storePath,
} from "./session_setup.ts";
import { pinnedCertificate } from "../session/trust.ts";
import { askedPassword } from "./target.ts";

/** The parts of an encrypting codec a password change seals again. */
interface Sealed {
  cs: SqliteCryptoStore;
  local: LocalStore;
}

function sealedOf(c: ChatClient): Sealed | null {
  const codec = c.codec as Partial<Sealed>;
  return codec.cs && codec.local ? codec as Sealed : null;
}

/**
 * Replaces the password of `c`'s account (logged in with the password) by `next`; with `remember`,
 * resolves with the one resume token the server keeps.
 */
export async function changePassword(
  c: ChatClient,
  next: string,
  o: { params?: Argon2Params; remember?: boolean } = {},
): Promise<{ token?: string }> {
  checkNewPassword(next);
  const current = c.account;
  if (!current) {
    throw new BackendError("no_password", "Changing the password needs a login with the password");
  }
  const secrets = await accountSecrets(next, newAccountKdf(o.params ?? OWASP_ARGON2));
  const sealed = sealedOf(c);
  const run = async () => {
    const r = await c.conn.request("account.passwd", {
      old: current.credential,
      password: secrets.credential,
      kdf: secrets.kdf,
      ...(o.remember ? { remember: true } : {}),
    });
    await sealed?.cs.reseal(secrets, () => sealed.local.rekey(secrets.keystoreKey));
    c.session.account = secrets;
    return typeof r.header.token === "string" ? { token: r.header.token } : {};
  };
  return sealed ? await sealed.local.exclusive(run) : await run();
}

/** The new password (checked before any connection): PARLEY_NEW_PASSWORD, or asked twice. */
async function newPassword(env: ClientEnv, prompts: Prompts, user: string): Promise<string> {
  const fromEnv = env.get("PARLEY_NEW_PASSWORD");
  if (fromEnv !== undefined) {
    checkNewPassword(fromEnv);
    return fromEnv;
  }
  if (!prompts.password) {
    throw new BackendError("no_password", "No new password: set PARLEY_NEW_PASSWORD or run on a terminal");
  }
  const p = askedPassword(
    await prompts.password(`New password for ${user} (at least ${MIN_PASSWORD_CHARS} characters)`),
  );
  checkNewPassword(p);
  if (askedPassword(await prompts.password(`Repeat the new password for ${user}`)) !== p) {
    throw new BackendError("password_mismatch", "The two passwords differ");
  }
  return p;
}

/** `parley passwd`: changes the password (or seals this folder under the one changed elsewhere). */
export async function passwdCommand(
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  login: typeof connectAndLogin = connectAndLogin, // the login port (tests: a core in memory)
): Promise<string> {
  const t = resolveTarget(f, env);
  const user = t.user ?? "";
  const canonical = normalizeName(user);
  if (!canonical) throw new BackendError("no_user", "No user name: pass --user or set PARLEY_USER");
  const old = await readPassword(f, env, prompts, user);
  const next = await newPassword(env, prompts, canonical);
  const fixed = { get: (k: string) => (k === "PARLEY_PASSWORD" ? old : env.get(k)) };
  const { passwordFile: _file, ...flags } = f; // the password read above is used, not read again
  let c: ChatClient;
  try {
    c = await login(flags, fixed, prompts);
  } catch (e) {
    if (!(e instanceof BackendError && e.code === "bad_credentials")) throw e;
    return await resealHere(flags, env, prompts, old, next, login);
  }
  try {
    const remembered = await rememberedToken(t.home, t.server, canonical);
    const r = await changePassword(c, next, { remember: remembered !== null });
    if (r.token) await rememberToken(t.home, t.server, canonical, r.token);
    return `Password changed for ${canonical} on ${t.server}: every other login of the account ended ` +
      "and every remembered login was revoked" + (r.token ? " (this machine's was renewed)" : "");
  } finally {
    await c.close();
  }
}

/** The server has the new password already: this folder's keys, sealed under the old one, follow. */
async function resealHere(
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  old: string,
  next: string,
  login: typeof connectAndLogin,
): Promise<string> {
  const env2 = { get: (k: string) => (k === "PARLEY_PASSWORD" ? next : env.get(k)) };
  const c = await login(f, env2, prompts, { keepHistory: false });
  const t = resolveTarget(f, env);
  // The folder's database is named by the server's certificate (any node of the list presents it).
  const nodes = t.nodes ?? [{ host: t.host, port: t.port }];
  const pins = await Promise.all(nodes.map((n) => pinnedCertificate(t.home, n.host, n.port)));
  const pem = pins.find((p) => p !== null);
  const store = new LocalStore(
    pem ? await storePath(t.home, c.user, pem) : LocalStore.pathFor(t.home, c.user, t.server),
  );
  try {
    const account = c.account!;
    const cs = await SqliteCryptoStore.open(store.db, old, account);
    if (cs.key.every((b, i) => b === account.keystoreKey[i])) {
      return `The password of ${c.user} is the new one already, and this folder's keys are sealed under it`;
    }
    await store.exclusive(async () => {
      store.unlock(cs.key);
      await cs.reseal(account, () => store.rekey(account.keystoreKey));
    });
    return `This folder's keys for ${c.user} are now sealed under the new password (changed from another folder)`;
  } finally {
    store.close();
    await c.close();
  }
}
