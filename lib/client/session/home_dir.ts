/**
 * The client's own files outside the stores (the counterpart of the server's data_dir.ts): the
 * client folder (0700, also when it existed before), a password file, remembered logins and the IRC
 * password of `parley irc` (`ircPassword`). One of the
 * files named by rule 2. `holdsAccount` tells whether the folder already has an account's local store.
 */
import { type Clock, systemClock } from "../../common/clock.ts";
import { cryptoRandom, type RandomBytes, randomId } from "../../common/random.ts";

/**
 * The local store's database file of `user` on `server` in the client folder `home` (LocalStore.pathFor).
 * Here, not in local_store.ts: a command that logs in with a remembered token reads this folder without
 * loading the store and node:sqlite (issue 75).
 */
export function storeFile(home: string, user: string, server: string): string {
  return `${home}/${user}@${server.replace(/[^A-Za-z0-9.-]/g, "_")}.db`;
}

/**
 * True when `home` holds `user`'s local store under one of `servers` (the names a server's store may
 * have: its certificate's key, or an address from before): the account was used from this folder.
 */
export async function holdsAccount(home: string, user: string, servers: readonly string[]): Promise<boolean> {
  for (const server of servers) {
    try {
      if ((await Deno.stat(storeFile(home, user, server))).isFile) return true;
    } catch {
      // not there (or unreadable): the next name, then ask
    }
  }
  return false;
}

/** Creates the client folder (and parents) if needed, private to the user. */
export async function ensureHome(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700); // also when it existed with looser modes
}

/**
 * Moves `from` (and its companions `from + suffix`, if any) to `to` unless `to` exists already or
 * `from` does not; true when `to` exists afterwards.
 */
export async function adoptFile(from: string, to: string, suffixes: string[] = []): Promise<boolean> {
  const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
  if (await exists(to)) return true;
  if (from === to || !await exists(from)) return false;
  for (const s of suffixes) if (await exists(from + s)) await Deno.rename(from + s, to + s);
  await Deno.rename(from, to);
  return true;
}

/** The password in `path`, without one trailing newline; throws the file system's error. */
export async function readPasswordFile(path: string): Promise<string> {
  return (await Deno.readTextFile(path)).replace(/\r?\n$/, "");
}

/**
 * Remembered logins (`parley login --remember`): the server's resume token for one user on one
 * server, in `<home>/sessions.json` (0600, replaced whole through a temporary file). A token logs in
 * without the password (no argon2id on either side) but opens no keystore: only commands that need
 * no end-to-end keys use it. The file maps "SERVER USER" to `{ token, saved }`.
 */
type Sessions = Record<string, { token: string; saved: string }>;

const sessionsFile = (home: string) => `${home}/sessions.json`;
const sessionKey = (server: string, user: string) => `${server} ${user}`;

async function readSessions(home: string): Promise<Sessions> {
  let text: string;
  try {
    text = await Deno.readTextFile(sessionsFile(home));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v as Sessions : {};
  } catch {
    return {}; // a damaged file remembers nothing; the next save replaces it
  }
}

/**
 * Replaces `path` (a file in the client folder `home`) with `text` as a whole: written to a
 * temporary file private to the user (0600, also when one was left with looser modes), then renamed.
 */
export async function writePrivateFile(home: string, path: string, text: string): Promise<void> {
  await ensureHome(home);
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

function writeSessions(home: string, s: Sessions): Promise<void> {
  return writePrivateFile(home, sessionsFile(home), JSON.stringify(s, null, 2));
}

/** The remembered resume token of `user` (canonical name) on `server`, or null. */
export async function rememberedToken(home: string, server: string, user: string): Promise<string | null> {
  const e = (await readSessions(home))[sessionKey(server, user)];
  return e && typeof e.token === "string" && /^[0-9a-f]{64}$/.test(e.token) ? e.token : null;
}

/** Remembers `token` for `user` on `server` (replacing an earlier one). */
export async function rememberToken(
  home: string,
  server: string,
  user: string,
  token: string,
  clock: Clock = systemClock,
): Promise<void> {
  const s = await readSessions(home);
  s[sessionKey(server, user)] = { token, saved: new Date(clock.now()).toISOString() };
  await writeSessions(home, s);
}

/** Forgets the remembered token of `user` on `server`; true if there was one. */
export async function forgetToken(home: string, server: string, user: string): Promise<boolean> {
  const s = await readSessions(home);
  const key = sessionKey(server, user);
  if (!Object.hasOwn(s, key)) return false;
  delete s[key];
  await writeSessions(home, s);
  return true;
}

/**
 * The full-screen client's settings file and its conversation logs (issue 71.11, 71.13): the file is
 * replaced whole (`writePrivateFile`), a log is appended to, one file per conversation (0600, in a
 * folder of 0700). Where both live is the start's choice (start/launch.ts: the client folder, or
 * `$XDG_CONFIG_HOME/parley`).
 */
export interface ClientFiles {
  readonly configPath: string;
  /** The settings file's text; null when there is none yet. Throws the file system's other errors. */
  readConfig(): Promise<string | null>;
  saveConfig(text: string): Promise<void>;
  /** The log file of a conversation ("#proj", "kofi"). */
  logPath(conversation: string): string;
  appendLog(conversation: string, text: string): Promise<void>;
}

export function clientFiles(configDir: string, logsDir: string): ClientFiles {
  const configPath = `${configDir}/config`;
  const logPath = (c: string) => `${logsDir}/${c.replace(/[^A-Za-z0-9#._-]/g, "_")}.log`;
  return {
    configPath,
    readConfig: () =>
      Deno.readTextFile(configPath).catch((
        e,
      ) => (e instanceof Deno.errors.NotFound ? null : Promise.reject(e))),
    saveConfig: (text) => writePrivateFile(configDir, configPath, text),
    logPath,
    appendLog: async (c, text) => {
      await ensureHome(logsDir);
      await Deno.writeTextFile(logPath(c), text, { append: true, mode: 0o600 });
      if (Deno.build.os !== "windows") await Deno.chmod(logPath(c), 0o600);
    },
  };
}

/**
 * The folder's IRC password (`parley irc`, issue 72): a random secret in `<home>/irc-password` (0600),
 * made on first use; an IRC client presents it (PASS or SASL PLAIN) so other local users cannot attach.
 */
export async function ircPassword(home: string, rand: RandomBytes = cryptoRandom): Promise<string> {
  const path = `${home}/irc-password`;
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text) return text;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const pw = randomId(rand, 18);
  await writePrivateFile(home, path, pw + "\n");
  return pw;
}

/**
 * The TLS certificate `parley irc` serves on an address other than loopback (issue 72): made once by
 * `make` and kept in `<home>/irc-cert.pem` and `<home>/irc-key.pem` (0600), so the IRC client can pin it.
 */
export async function ircCertificate(
  home: string,
  make: () => Promise<{ cert: string; key: string }>,
): Promise<{ cert: string; key: string }> {
  const [certPath, keyPath] = [`${home}/irc-cert.pem`, `${home}/irc-key.pem`];
  try {
    return { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath) };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const pair = await make();
  await writePrivateFile(home, keyPath, pair.key);
  await writePrivateFile(home, certPath, pair.cert);
  return pair;
}
