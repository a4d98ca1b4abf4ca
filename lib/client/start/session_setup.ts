/**
 * Resolves where and as whom to connect (flags, then environment, then defaults), establishes
 * trust in the server, opens the pinned connection and logs in. Shared by the scripted commands
 * and the full-screen client. With a client folder, the session is end-to-end encrypted: the
 * keystore in the local database is opened with a key derived from the password (argon2id) and
 * the client's bodies go through `E2eCodec`.
 */
import { BackendError } from "../backend.ts";
import { ChatClient } from "../core/chat_client.ts";
import { Connection } from "../session/connection.ts";
import type { LocalStore } from "../session/local_store.ts";
import { attachVideo } from "../video/client_video.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import { normalizeName } from "../../protocol/names.ts";
import { findFfmpeg } from "../../media/ffmpeg.ts";
import { adoptFile, ensureHome, forgetToken, rememberedToken, rememberToken } from "../session/home_dir.ts";
import {
  addressesOf,
  explainTlsFailure,
  pinAddress,
  pinnedCertificate,
  serverKey,
  trustedCertificate,
} from "../session/trust.ts";

import {
  type ClientEnv,
  type ConnectFlags,
  type Prompts,
  readPassword,
  type Resolved,
  resolveTarget,
} from "./target.ts";
export type { ClientEnv, ConnectFlags, Prompts, Resolved } from "./target.ts";
export { hostPort, readPassword, resolveTarget } from "./target.ts";

/** A pinned connection and where it went. */
export interface Pinned {
  conn: Connection;
  /** "host:port" of the node actually connected. */
  server: string;
  /** The pinned certificate it presented. */
  pem: string;
}

/**
 * Opens a pinned connection to the first node of the list that answers. The nodes of a list are one
 * server: a node not pinned yet is held to the certificate pinned for another node of the list (and
 * pinned too once it presented it); with none pinned, first contact asks (or takes a flag) as usual.
 * An unreachable node moves on to the next; the last failure is told.
 */
export async function openPinned(
  r: Omit<Resolved, "user">,
  f: ConnectFlags,
  prompts: Prompts,
): Promise<Pinned> {
  const nodes = r.nodes ?? [{ host: r.host, port: r.port }];
  const pins = await Promise.all(nodes.map((n) => pinnedCertificate(r.home, n.host, n.port)));
  let listPem = pins.find((p) => p !== null) ?? null;
  for (let i = 0;; i++) {
    const n = nodes[i]!;
    const trust = {
      home: r.home,
      host: n.host,
      port: n.port,
      trustOnFirstUse: f.trustOnFirstUse,
      fingerprint: f.fingerprint,
      ask: prompts.confirm,
    };
    try {
      const own = pins[i] ?? null;
      const pem = own ?? listPem ?? await trustedCertificate(trust);
      listPem ??= pem;
      let conn: Connection;
      try {
        conn = await Connection.open({ host: n.host, port: n.port, caPem: pem });
      } catch (e) {
        throw await explainTlsFailure(trust, pem, e, own === null);
      }
      if (own === null) await pinAddress(r.home, n.host, n.port, pem);
      return { conn, server: `${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.port}`, pem };
    } catch (e) {
      if (i + 1 >= nodes.length || !(e instanceof BackendError) || e.code !== "unreachable") throw e;
    }
  }
}

export interface LoginChoices {
  register?: boolean;
  keepHistory?: boolean;
  /** Runs on the keystore before keys are published (device add, keys reset). */
  prepare?: (cs: SqliteCryptoStore, c: ChatClient) => Promise<void>;
  /**
   * The command needs no keystore (`keepHistory: false`): a login remembered on this machine for
   * the user and server is used instead of the password. A token the server refuses is forgotten
   * (said through `notice`) and the password login follows.
   */
  remembered?: boolean;
  /** Asks the server for a resume token with the password login and remembers it on this machine. */
  remember?: boolean;
  /** Registering: an admin's one-time invitation code (`parley register --invite CODE`). */
  invite?: string;
  /** Told what the user should know: a remembered login refused, the server's version differing. */
  notice?: (text: string) => void;
  /** A one-shot command: the server announces no presence for it (the full-screen client is not quiet). */
  quiet?: boolean;
}

async function userName(t: { user?: string }, prompts: Prompts): Promise<string> {
  let user = t.user;
  if (!user && prompts.text) user = (await prompts.text("User name")) ?? undefined;
  if (!user) throw new BackendError("no_user", "No user name: pass --user or set PARLEY_USER");
  return user;
}

/** Logs in with the remembered token, if any; null when there is none or the server refused it. */
/**
 * The login of `canonical` remembered for this server: under the address typed, else under another
 * address pinned to the same certificate (another node of the server); with the address it is under.
 */
async function findToken(
  t: Omit<Resolved, "user">,
  canonical: string,
): Promise<{ token: string; key: string } | null> {
  const keys = [t.server];
  for (const n of t.nodes ?? [{ host: t.host, port: t.port }]) {
    const pem = await pinnedCertificate(t.home, n.host, n.port);
    if (pem) {
      keys.push(...await addressesOf(t.home, pem));
      break;
    }
  }
  for (const key of new Set(keys)) {
    const token = await rememberedToken(t.home, key, canonical);
    if (token) return { token, key };
  }
  return null;
}

async function tokenLogin(
  t: Omit<Resolved, "user">,
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  user: string,
  notice?: (text: string) => void,
  quiet = false,
): Promise<ChatClient | null> {
  const canonical = normalizeName(user);
  const found = canonical ? await findToken(t, canonical) : null;
  if (!canonical || !found) return null;
  const { token, key } = found;
  const { conn, server } = await openPinned(t, f, prompts);
  try {
    return await ChatClient.login({
      conn,
      server,
      user,
      password: "",
      token,
      clientName: "parley-cli",
      ...(quiet ? { quiet: true } : {}),
      findFfmpeg: () => findFfmpeg(env),
    });
  } catch (e) {
    await conn.close();
    if (!(e instanceof BackendError && e.code === "bad_credentials")) throw e;
    await forgetToken(t.home, key, canonical);
    notice?.(
      `The login remembered for ${canonical} on ${t.server} is no longer valid and was forgotten ` +
        "(expired or revoked; parley login --remember keeps a new one)",
    );
    return null;
  }
}

/**
 * The user's database in the client folder, named by the server's certificate (`serverKey`), so
 * every node of a server, and every address it is reached at, shares one history and keystore. A
 * folder made when it was named by an address is renamed on first use (the earliest pinned first).
 */
export async function storePath(home: string, user: string, pem: string): Promise<string> {
  const { LocalStore } = await storeModule();
  const path = LocalStore.pathFor(home, user, await serverKey(pem));
  for (const addr of await addressesOf(home, pem)) {
    if (await adoptFile(LocalStore.pathFor(home, user, addr), path, ["-wal", "-shm"])) break;
  }
  return path;
}

/**
 * The local store (SQLite) and the keystore's attach load when a command keeps history: a command
 * logging in with a remembered token (`play`, `videos`, …) starts without either (issue 75).
 */
const storeModule = () => import("../session/local_store.ts");

export async function connectAndLogin(
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  o: LoginChoices = {},
): Promise<ChatClient> {
  const t = resolveTarget(f, env);
  const user = await userName(t, prompts);
  if (o.remembered && o.keepHistory === false && !o.register && !o.remember) {
    const c = await tokenLogin(t, f, env, prompts, user, o.notice, o.quiet);
    if (c) return saidVersion(c, o.notice);
  }
  const password = await readPassword(f, env, prompts, user, o.register === true);
  const { conn, server, pem } = await openPinned(t, f, prompts);
  let store: LocalStore | undefined;
  try {
    const canonical = normalizeName(user);
    if (o.keepHistory !== false && canonical) {
      await ensureHome(t.home);
      const path = await storePath(t.home, canonical, pem);
      store = new (await storeModule()).LocalStore(path);
    }
    const client = await ChatClient.login({
      conn,
      server,
      user,
      password,
      register: o.register,
      ...(o.register && o.invite ? { invite: o.invite } : {}),
      clientName: "parley-cli",
      ...(o.quiet ? { quiet: true } : {}),
      store,
      findFfmpeg: () => findFfmpeg(env),
      ...(o.remember ? { remember: true } : {}),
    });
    if (o.remember) {
      if (!client.session.token || !canonical) {
        await client.close();
        throw new BackendError("no_token", "The server gave no resume token, so nothing was remembered");
      }
      await rememberToken(t.home, t.server, canonical, client.session.token);
    }
    if (store) {
      try {
        const { attachE2e } = await import("./e2e_attach.ts");
        await attachE2e(client, password, o.prepare ? { prepare: (cs) => o.prepare!(cs, client) } : {});
      } catch (e) {
        await client.close();
        throw e;
      }
    }
    return saidVersion(client, o.notice);
  } catch (e) {
    store?.close();
    await conn.close();
    throw e;
  }
}

/**
 * The client assembled: its video capability attached (video/client_video.ts), and a word (through
 * `notice`) when the server's major.minor differs from this client's (its hello).
 */
function saidVersion(c: ChatClient, notice?: (text: string) => void): ChatClient {
  attachVideo(c);
  if (c.session.versionNotice) notice?.(c.session.versionNotice);
  return c;
}

/**
 * `parley logout`: revokes the login remembered on this machine (on the server, then here); with
 * `all`, every resume token of the user (logging in with the remembered token, else the password).
 */
export async function logoutRemembered(
  f: ConnectFlags,
  env: ClientEnv,
  prompts: Prompts,
  all: boolean,
  notice?: (text: string) => void,
): Promise<string> {
  const t = resolveTarget(f, env);
  const user = await userName(t, prompts);
  const canonical = normalizeName(user) ?? user;
  const key = (await findToken(t, canonical))?.key ?? t.server;
  let c = await tokenLogin(t, f, env, prompts, user, notice);
  if (!c && !all) {
    return `No login of ${canonical} is remembered for ${t.server} on this machine`;
  }
  c ??= await connectAndLogin({ ...f, user }, env, prompts, { keepHistory: false, quiet: true }); // asked once
  try {
    await c.conn.request("logout", all ? { all: true } : {});
  } finally {
    await c.close();
  }
  // Only once the server revoked it: a logout that failed on the way can be run again.
  await forgetToken(t.home, key, canonical);
  return all
    ? `Logged out ${canonical} on ${t.server}: every remembered login of the account is revoked`
    : `Logged out ${canonical} on ${t.server}: the login remembered on this machine is revoked and forgotten`;
}
