/**
 * Test helpers: an in-process server on port 0 with real TLS and a temporary SQLite store, test
 * clients that trust its certificate, a fast stand-in hasher for tests not about passwords, and the
 * one "no plaintext on the server" check.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock } from "../lib/common/clock.ts";
import { memoryLogger } from "../lib/common/logger.ts";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import type { Hasher } from "../lib/server/accounts.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import { ParleyServer } from "../lib/server/server.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { ChatClient } from "../lib/client/chat_client.ts";
import type { BackendEvent, ChatMessage } from "../lib/client/backend.ts";
import { Connection } from "../lib/client/connection.ts";
import { E2eCodec } from "../lib/client/e2e_codec.ts";
import { LocalStore } from "../lib/client/local_store.ts";
import type { Argon2Params } from "../lib/crypto/at_rest.ts";

/** Light argon2id parameters for test keystores (the real client uses OWASP's). */
export const testArgon: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1 };
import { findFfmpeg } from "../lib/media/ffmpeg.ts";
import { VideoLibrary } from "../lib/media/library.ts";

let certCache: Promise<{ cert: string; key: string }> | null = null;
export const testCert = () => certCache ??= makeSelfSignedCert();

/** Not a password hash: equality with a prefix. For tests that are not about hashing. */
export const fastHasher: Hasher = {
  hash: (p) => Promise.resolve(`fake$${p}`),
  verify: (p, h) => Promise.resolve(h === `fake$${p}`),
};

export interface TestServer {
  srv: ParleyServer;
  port: number;
  cert: string;
  dir: string;
  lines: string[];
  connect(): Promise<Connection>;
  client(user: string, o?: { register?: boolean; password?: string }): Promise<ChatClient>;
  /** An end-to-end encrypting client with its keystore in `home` (default: a folder per user in `dir`). */
  e2eClient(
    user: string,
    o?: { register?: boolean; password?: string; home?: string },
  ): Promise<{ client: ChatClient; codec: E2eCodec; store: LocalStore }>;
  stop(): Promise<void>;
}

export async function startTestServer(
  opts: ServerOptions = {},
  o: {
    clock?: Clock;
    hasher?: Hasher & { close?: () => void };
    dir?: string;
    tls?: { cert: string; key: string };
  } = {},
): Promise<TestServer> {
  const tls = o.tls ?? await testCert();
  const dir = o.dir ?? await Deno.makeTempDir({ prefix: "parley-test-" });
  const clock = o.clock ?? systemClock;
  const { logger, lines } = memoryLogger(clock);
  const store = new SqliteStore(`${dir}/parley.db`);
  const srv = new ParleyServer({ port: 0, msgRate: 0, loginRate: 0, ...opts, dataDir: dir }, {
    store,
    log: logger,
    tls,
    clock,
    hasher: o.hasher ?? fastHasher,
  });
  await srv.start();
  const clients: (ChatClient | Connection)[] = [];
  const connect = async () => {
    const c = await Connection.open({ host: "127.0.0.1", port: srv.port, caPem: tls.cert });
    clients.push(c);
    return c;
  };
  return {
    srv,
    port: srv.port,
    cert: tls.cert,
    dir,
    lines,
    connect,
    async client(user, co = {}) {
      const conn = await connect();
      const c = await ChatClient.login({
        conn,
        server: `127.0.0.1:${srv.port}`,
        user,
        password: co.password ?? `pw-${user}-secret`,
        register: co.register ?? true,
      });
      clients.push(c);
      return c;
    },
    async e2eClient(user, co = {}) {
      const home = co.home ?? `${dir}/home-${user}`;
      await Deno.mkdir(home, { recursive: true });
      const server = `127.0.0.1:${srv.port}`;
      const store = new LocalStore(LocalStore.pathFor(home, user, server));
      const password = co.password ?? `pw-${user}-secret`;
      const conn = await connect();
      const c = await ChatClient.login({
        conn,
        server,
        user,
        password,
        register: co.register ?? true,
        store,
      });
      clients.push(c);
      const codec = await E2eCodec.attach(c, password, { params: testArgon });
      return { client: c, codec, store };
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => {});
      await srv.shutdown();
      if (!o.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The permissions the deno.json `server` and `client` tasks grant. */
export const PROGRAM_PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];

/** Path of a file at the repository root (server.ts, client.ts). */
export const rootFile = (name: string): string =>
  decodeURIComponent(new URL(`../${name}`, import.meta.url).pathname);

/**
 * Runs a program of this repository (`server.ts`, `client.ts`) as the tasks do, with the same
 * permissions, no stdin, and the given extra environment; returns its exit code and output.
 */
export async function runProgram(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PROGRAM_PERMS, rootFile(name), ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

/** Waits until `fn` returns a truthy value, polling; fails after `ms`. */
export async function eventually<T>(fn: () => T | Promise<T>, ms = 3000, what = "condition"): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records a client's message events and notice texts. */
export function inbox(c: ChatClient): { msgs: ChatMessage[]; notices: string[] } {
  const r = { msgs: [] as ChatMessage[], notices: [] as string[] };
  c.on((e: BackendEvent) => {
    if (e.type === "message") r.msgs.push(e.message);
    if (e.type === "notice") r.notices.push(e.text);
  });
  return r;
}

/** Collects events of one type from a client. */
export function collect<T extends string>(c: ChatClient, type: T): { items: unknown[]; stop: () => void } {
  const items: unknown[] = [];
  const stop = c.on((e) => {
    if (e.type === type) items.push(e);
  });
  return { items, stop };
}

// ── Video (issue 6) ──────────────────────────────────────────────────────────────────────────────

/**
 * Whether a tool tests need was found. When it was not and this is CI (`CI=true`), a failing test is
 * registered too: on CI the tests that need it may not be skipped silently.
 */
export function requiredOnCi(tool: string, found: boolean): boolean {
  if (!found && Deno.env.get("CI") === "true") {
    Deno.test(`${tool} is installed (CI=true: the tests that need it may not be skipped)`, () => {
      throw new Error(`${tool} was not found; the CI workflow must install it`);
    });
  }
  return found;
}

/** The ffmpeg tests use (PARLEY_FFMPEG, then PATH), or null (on CI: a failing test, see requiredOnCi). */
export function testFfmpeg(): string | null {
  const ff = findFfmpeg(Deno.env);
  requiredOnCi("ffmpeg", ff !== null);
  return ff;
}

export const VIDEOS_DIR: string = decodeURIComponent(new URL("../videos", import.meta.url).pathname);

let renditionCache: Promise<string> | null = null;

/**
 * A fresh data folder whose `renditions/` already holds the sample's renditions (made once per
 * test process and copied), so a test server's scan only probes. Pass it as `startTestServer`'s `dir`.
 */
export async function videoDataDir(ffmpeg: string): Promise<string> {
  renditionCache ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-renditions-" });
    await new VideoLibrary({ videosDir: VIDEOS_DIR, dataDir: dir, ffmpeg }).scan();
    return dir;
  })();
  const cache = await renditionCache;
  const dir = await Deno.makeTempDir({ prefix: "parley-video-test-" });
  for await (const v of Deno.readDir(`${cache}/renditions`)) {
    await Deno.mkdir(`${dir}/renditions/${v.name}`, { recursive: true });
    for await (const f of Deno.readDir(`${cache}/renditions/${v.name}`)) {
      await Deno.copyFile(`${cache}/renditions/${v.name}/${f.name}`, `${dir}/renditions/${v.name}/${f.name}`);
    }
  }
  return dir;
}

// ── No plaintext on the server ───────────────────────────────────────────────────────────────────

/**
 * Every byte the server keeps about messages: `parley.db` (which must exist), `-wal` and `-shm` when
 * present, and the log lines, as one latin1 string.
 */
export async function serverBytes(dir: string, log: readonly string[]): Promise<string> {
  const dec = new TextDecoder("latin1");
  let all = dec.decode(await Deno.readFile(`${dir}/parley.db`)) + log.join("\n");
  for (const f of ["parley.db-wal", "parley.db-shm"]) {
    try {
      all += dec.decode(await Deno.readFile(`${dir}/${f}`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return all;
}

/**
 * Asserts that none of `secrets` is anywhere in the server's database files or log. First a known
 * marker is written into the server's database in the clear (a room row, through a second SQLite
 * connection, then checkpointed into parley.db) and must be found: the check is shown to see what
 * the server stored.
 */
export async function assertNoPlaintext(
  dir: string,
  log: readonly string[],
  secrets: string[],
): Promise<void> {
  const marker = `plaintext-marker-${crypto.randomUUID().slice(0, 8)}`;
  const db = new DatabaseSync(`${dir}/parley.db`);
  try {
    db.exec("PRAGMA busy_timeout=5000");
    db.prepare("INSERT INTO rooms (name, created_by, created_at) VALUES (?, 'test', 0)").run(marker);
    // move everything into parley.db, so a check that reads only the WAL finds no marker
    const cp = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    assert.equal(cp.busy, 0, "checkpoint blocked");
  } finally {
    db.close();
  }
  const bytes = await serverBytes(dir, log);
  assert.ok(bytes.includes(marker), "the plaintext check cannot see the server's database");
  for (const s of secrets) assert.equal(bytes.includes(s), false, `"${s}" is stored in the clear`);
}

/** `p`, or a rejection naming `what` after `ms` (the timer is cleared either way). */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ── Spawned server ───────────────────────────────────────────────────────────────────────────────

/** A spawned `server.ts` (port 0 by default, its own data folder) and the port it printed. */
export interface Spawned {
  child: Deno.ChildProcess;
  port: number;
  fingerprint: string;
  /** The certificate it made in its data folder (PEM), for clients that pin it. */
  cert: string;
  stderr: () => string;
}

/** Starts the real `server.ts` as a process and waits (15 s at most) for its listening line. */
export async function spawnServer(data: string, port = 0, extra: string[] = []): Promise<Spawned> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("server.ts"),
      "--port",
      String(port),
      "--data",
      data,
      "--videos",
      `${data}/no-videos`,
      "--msg-rate",
      "0",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  let err = "";
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  try {
    while (!out.includes("\n")) {
      const r = await withDeadline(reader.read(), Math.max(0, deadline - Date.now()), `server start: ${err}`);
      if (r.done) throw new Error(`server exited: ${err}`);
      out += r.value;
    }
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const m = out.match(/^Parley listening on 127\.0\.0\.1:(\d+) \(TLS\) fingerprint (SHA256:[0-9A-F:]{95})$/m);
  assert.ok(m, `listening line: ${out}`);
  const cert = await Deno.readTextFile(`${data}/cert.pem`);
  return { child, port: Number(m[1]), fingerprint: m[2]!, cert, stderr: () => err };
}

/** Signals a spawned server and returns its exit code. */
export async function stop(s: Spawned, signal: Deno.Signal = "SIGTERM"): Promise<number> {
  try {
    s.child.kill(signal);
  } catch { /* gone */ }
  return (await s.child.status).code;
}

/** A process's resident set size in bytes, read from outside (Linux /proc/PID/status, else `ps`); null on Windows. */
export async function rssOf(pid: number): Promise<number | null> {
  if (Deno.build.os === "linux") {
    // through `cat`: Deno lets a program read /proc/PID only with --allow-all
    const r = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" }).output();
    const m = new TextDecoder().decode(r.stdout).match(/^VmRSS:\s+(\d+) kB$/m);
    assert.ok(m, `no VmRSS for ${pid}`);
    return Number(m[1]) * 1024;
  }
  if (Deno.build.os === "windows") return null;
  const r = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(r.stdout).trim()) * 1024;
}
