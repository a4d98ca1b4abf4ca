/**
 * Test helpers: an in-process server on port 0 with real TLS and a temporary SQLite store, test
 * clients that trust its certificate, and a fast stand-in hasher for tests not about passwords.
 */
import type { MetricsHooks } from "../lib/server/metrics.ts";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock } from "../lib/common/clock.ts";
import { until } from "../lib/common/wait_testing.ts";
import { memoryLogger } from "../lib/common/logger.ts";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import type { Hasher } from "../lib/server/accounts.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import { ParleyServer } from "../lib/server/server.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { messageLogDir } from "../lib/server/store/segment_log.ts";
import type { Store } from "../lib/server/store/store.ts";
import type { Bus } from "../lib/server/bus/bus.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import type { BackendEvent, ChatMessage } from "../lib/client/backend.ts";
import { Connection } from "../lib/client/session/connection.ts";
import type { E2eCodec } from "../lib/client/e2e/codec.ts";
import type { Later } from "../lib/client/e2e/codec.ts";
import { attachVideo } from "../lib/client/video/client_video.ts";
import { attachE2e } from "../lib/client/start/e2e_attach.ts";
import { runCli } from "../lib/client/cli/main.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { VERSION } from "../lib/common/version.ts";
import type { KdfPolicy } from "../lib/client/session/account_login.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { serverKey } from "../lib/client/session/trust.ts";
import type { Argon2Params } from "../lib/crypto/at_rest.ts";

/** Light argon2id parameters for test keystores (the real client uses OWASP's). */
export const testArgon: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1 };
/** Client-side password hashing for in-process test clients: fast, and accepted as a floor. */
export const testKdf = { params: testArgon, floor: testArgon };
import { findFfmpeg, VideoLibrary } from "../lib/media/mod.ts";

let certCache: Promise<{ cert: string; key: string }> | null = null;
export const testCert = () => certCache ??= makeSelfSignedCert();

/** Not a password hash: equality with a prefix. For tests that are not about hashing. */
export const fastHasher: Hasher = {
  hash: (p) => Promise.resolve(`fake$${p}`),
  verify: (p, h) => Promise.resolve(h === `fake$${p}`),
};

/** A shared (PostgreSQL) store seen as text by the no-plaintext check: a marker row, then every row. */
export interface SharedStoreText {
  mark(marker: string): Promise<void>;
  text(): Promise<string>;
}

export interface TestServer {
  srv: ParleyServer;
  /** Every node (just `srv` on one server). */
  nodes: ParleyServer[];
  /** The shared store's contents as text, when the nodes share one (else the SQLite file in `dir`). */
  shared?: SharedStoreText;
  port: number;
  cert: string;
  dir: string;
  lines: string[];
  connect(): Promise<Connection>;
  /** `kdf`: the client-side hashing (default fast `testKdf`; `{}` for the real one, when a spawned client logs in later). */
  client(user: string, o?: { register?: boolean; password?: string; kdf?: KdfPolicy }): Promise<ChatClient>;
  /**
   * An end-to-end encrypting client with its keystore in `home` (default: a folder per user in `dir`);
   * `prepare` runs on the keystore before its keys are published (a linked device's: start/device_link_flow.ts).
   */
  e2eClient(
    user: string,
    o?: {
      register?: boolean;
      password?: string;
      home?: string;
      prepare?: (cs: E2eCodec["cs"], c: ChatClient) => Promise<void>;
      /** The client's clock (default: the system's); the server's is `startTestServer`'s `clock`. */
      clock?: Clock;
      /** The timer of its "seen" notes (e2e/seen_sync.ts; default setTimeout). */
      later?: Later;
    },
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
    /** Free bytes on the disk under a folder (a test fakes a full disk). */
    freeSpace?: (dir: string) => number | null;
    /** Counters of node 1 (`--metrics`). */
    metrics?: MetricsHooks;
    /** The video streams' paced waits (ServerDeps `videoSleep`). */
    videoSleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    /** Several nodes on one shared store (tests/topology.ts): `srv` is node 1, clients go round-robin. */
    nodes?: {
      count: number;
      store: () => Promise<Store>;
      bus: (i: number) => Promise<Bus>;
      shared?: SharedStoreText;
      /** The buses' cluster key: the shared files folder's sidecars carry a MAC under it (issue 69 S1). */
      key?: Uint8Array;
    };
  } = {},
): Promise<TestServer> {
  const tls = o.tls ?? await testCert();
  const dir = o.dir ?? await Deno.makeTempDir({ prefix: "parley-test-" });
  const clock = o.clock ?? systemClock;
  const { logger, lines } = memoryLogger(clock);
  const servers: ParleyServer[] = [];
  for (let i = 0; i < (o.nodes?.count ?? 1); i++) {
    const store = o.nodes ? await o.nodes.store() : new SqliteStore(`${dir}/parley.db`);
    const bus = o.nodes ? await o.nodes.bus(i) : undefined;
    const cluster = { heartbeatMs: 200, presenceTimeoutMs: 1000 };
    servers.push(
      new ParleyServer({
        port: 0,
        msgRate: 0,
        loginRate: 0,
        registerRate: 0,
        registerRateTotal: 0,
        ...opts,
        dataDir: dir,
      }, {
        store,
        log: logger,
        tls,
        clock,
        hasher: o.hasher ?? fastHasher,
        ...(o.freeSpace ? { freeSpace: o.freeSpace } : {}),
        ...(o.metrics && i === 0 ? { metrics: o.metrics } : {}),
        ...(o.videoSleep ? { videoSleep: o.videoSleep } : {}),
        ...(bus ? { bus, cluster } : {}),
        ...(o.nodes?.key ? { clusterKey: o.nodes.key } : {}),
      }),
    );
    await servers[i]!.start();
  }
  const srv = servers[0]!;
  const clients: (ChatClient | Connection)[] = [];
  let next = 0;
  const connect = async () => {
    const port = servers[next++ % servers.length]!.port;
    const c = await Connection.open({ host: "127.0.0.1", port, caPem: tls.cert, clock });
    clients.push(c);
    return c;
  };
  return {
    srv,
    nodes: servers,
    ...(o.nodes?.shared ? { shared: o.nodes.shared } : {}),
    port: srv.port,
    cert: tls.cert,
    dir,
    lines,
    connect,
    async client(user, co = {}) {
      const conn = await connect();
      const c = await ChatClient.login({
        conn,
        server: "127.0.0.1:" + srv.port,
        user,
        password: co.password ?? `pw-${user}-secret`,
        register: co.register ?? true,
        kdf: co.kdf ?? testKdf,
      });
      attachVideo(c);
      clients.push(c);
      return c;
    },
    async e2eClient(user, co = {}) {
      const home = co.home ?? `${dir}/home-${user}`;
      await Deno.mkdir(home, { recursive: true });
      const server = `127.0.0.1:${srv.port}`;
      const store = new LocalStore(LocalStore.pathFor(home, user, await serverKey(tls.cert)));
      const password = co.password ?? `pw-${user}-secret`;
      const conn = await connect();
      const c = await ChatClient.login({
        conn,
        server,
        user,
        password,
        register: co.register ?? true,
        store,
        kdf: testKdf,
        ...(co.clock ? { clock: co.clock } : {}),
      });
      attachVideo(c);
      clients.push(c);
      const prepare = co.prepare;
      const codec = await attachE2e(c, password, {
        params: testArgon,
        ...(co.clock ? { clock: co.clock } : {}), // the codec's clock too: sealed times, the future check
        ...(prepare ? { prepare: (cs) => prepare(cs, c) } : {}),
        ...(co.later ? { later: co.later } : {}),
      });
      return { client: c, codec, store };
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => {});
      await Promise.all(servers.map((x) => x.shutdown()));
      if (!o.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The permissions the deno.json `server` and `client` tasks grant. */
export const PROGRAM_PERMS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys=statfs", // the server's free-space floor (--min-free)
];

/** Path of a file at the repository root (server.ts, client.ts). */
export const rootFile = (name: string): string =>
  decodeURIComponent(new URL(`../${name}`, import.meta.url).pathname);

/**
 * Runs a program of this repository (`server.ts`, `client.ts`) as the tasks do, with the same
 * permissions, no stdin, and the given extra environment; returns its exit code and output.
 * `onErr` is told its standard error so far each time more comes (a test awaits a line said on the way).
 */
export async function runProgram(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  /** Standard input (none by default). */
  input?: string,
  onErr?: (soFar: string) => void,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PROGRAM_PERMS, rootFile(name), ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  if (onErr) {
    const out = new Response(child.stdout).text();
    let err = "";
    for await (const piece of child.stderr.pipeThrough(new TextDecoderStream())) onErr(err += piece);
    return { code: (await child.status).code, out: await out, err };
  }
  const o = await child.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

/**
 * `parley ARGS…` (client.ts) as `user` of test server `t`, with the folder `t.dir/home-USER`, the
 * password `pw-USER-secret` in the environment and `input` on standard input (none by default);
 * `onErr` as runProgram's.
 */
export function runAs(
  t: { port: number; dir: string },
  user: string,
  args: string[],
  input?: string,
  onErr?: (soFar: string) => void,
): Promise<{ code: number; out: string; err: string }> {
  const at = ["--server", `127.0.0.1:${t.port}`, "--user", user, "--home", `${t.dir}/home-${user}`];
  return runProgram(
    "client.ts",
    [...args, ...at, "--trust-on-first-use"],
    {
      PARLEY_PASSWORD: `pw-${user}-secret`,
    },
    input,
    onErr,
  );
}

/**
 * Waits until `fn` returns a truthy value, polling; fails after `ms`: lib/common/wait_testing.ts
 * `until` (the one polling wait), with the argument order the tests here were written with.
 */
export function eventually<T>(
  fn: () => T | Promise<T>,
  ms = 3000,
  what = "condition",
): Promise<NonNullable<T>> {
  return until(fn, what, ms, 10);
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

/** The ffmpeg tests use (PARLEY_FFMPEG, then PATH), or null. */
export function testFfmpeg(): string | null {
  return findFfmpeg(Deno.env);
}

/**
 * Whether a test that needs a tool may skip itself: only off CI. On CI (`CI=true`) a missing tool
 * fails the run (tests/tools_present_test.ts names it) instead of silently shrinking the suite.
 */
export function skipWithout(present: boolean): boolean {
  return !present && Deno.env.get("CI") !== "true";
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
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true })); // the test process ends
    await new VideoLibrary({ videosDir: VIDEOS_DIR, dataDir: dir, ffmpeg }).scan();
    return dir;
  })();
  const cache = await renditionCache;
  const dir = await Deno.makeTempDir({ prefix: "parley-video-test-" });
  for await (const v of Deno.readDir(`${cache}/renditions`)) {
    await Deno.mkdir(`${dir}/renditions/${v.name}`, { recursive: true });
    // Renditions first: a poster older than its rendition would be made again.
    const files = (await Array.fromAsync(Deno.readDir(`${cache}/renditions/${v.name}`))).map((f) => f.name);
    for (const f of files.sort((a, b) => Number(b.endsWith(".mp4")) - Number(a.endsWith(".mp4")))) {
      await Deno.copyFile(`${cache}/renditions/${v.name}/${f}`, `${dir}/renditions/${v.name}/${f}`);
    }
  }
  return dir;
}

/** A ChatClient (password `pw-USER-secret`) logged in to a spawned server on `port` presenting `cert`. */
export async function loginSpawned(
  port: number,
  cert: string,
  user: string,
  register: boolean,
): Promise<ChatClient> {
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password: `pw-${user}-secret`,
    register,
    kdf: testKdf,
  });
}

/**
 * A real `server.ts` process on a free port with data folder `dir` (and, on Linux, an optional
 * open-files limit); resolves once it listens. Read its memory from outside with `rssKiB(pid)`.
 */
export async function spawnServerProcess(
  dir: string,
  o: {
    args?: string[];
    ulimit?: number;
    port?: number;
    console?: boolean;
    /** A file-size limit (`ulimit -f`, KiB) with SIGXFSZ ignored: writes past it fail with EFBIG. */
    fileLimitKiB?: number;
  } = {},
) {
  const args = [
    "run",
    ...PROGRAM_PERMS,
    rootFile("server.ts"),
    ...["--port", String(o.port ?? 0), "--data", dir, "--videos", `${dir}/none`],
    ...(o.console ? ["--console"] : []),
    ...(o.args ?? []),
  ];
  const quoted = [Deno.execPath(), ...args].map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `${o.ulimit ? `ulimit -n ${o.ulimit}; ` : ""}` +
      `${o.fileLimitKiB ? `trap '' XFSZ; ulimit -f ${o.fileLimitKiB}; ` : ""}exec ${quoted}`,
    ],
    stdin: o.console ? "piped" : "inherit",
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  let errSoFar = "";
  const errText = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) errSoFar += c;
    return errSoFar;
  })();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  // One read in flight at a time: a read that lost the race to the timer still holds the next chunk.
  let reading: Promise<ReadableStreamReadResult<string>> | null = null;
  while (!text.includes("listening")) {
    reading ??= out.read();
    let id: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([reading, new Promise<null>((r) => (id = setTimeout(() => r(null), 1000)))]);
    clearTimeout(id);
    if (r) reading = null;
    if (r?.done) throw new Error(`server exited: ${errSoFar}`);
    if (r) text += r.value;
    if (Date.now() > deadline) throw new Error(`server did not start: ${text} ${errSoFar}`);
  }
  out.releaseLock();
  child.stdout.cancel().catch(() => {});
  const port = Number(text.match(/127\.0\.0\.1:(\d+)/)![1]);
  const stdin = o.console ? child.stdin.getWriter() : null;
  /** Types a line at the server console (`console: true`). */
  const consoleLine = async (line: string) => {
    if (!stdin) throw new Error("spawned without console: true");
    await stdin.write(new TextEncoder().encode(line + "\n"));
  };
  /** SIGTERM (or SIGKILL), then waits for the exit. */
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    await stdin?.close().catch(() => {});
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    await errText;
  };
  return {
    child,
    pid: child.pid,
    port,
    /** What it printed on stdout until it listened (the listening and Connect lines). */
    banner: text,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    errText,
    /** What it printed on stderr so far (log lines: a test awaits one with `eventually`). */
    errNow: () => errSoFar,
    consoleLine,
    stop,
  };
}

/**
 * A memory figure of a live process from its /proc/PID/status (Linux), KiB: `VmRSS` (resident now)
 * or `VmHWM` (the peak so far); read from outside the process, by a child (Deno lets only
 * --allow-all read /proc directly: under the test task's flags a direct read throws). Throws when
 * there is none to read (the process exited), so a test never compares zeros.
 */
export async function procKiB(pid: number, key: "VmRSS" | "VmHWM" = "VmRSS"): Promise<number> {
  const o = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped", stderr: "null" })
    .output();
  const m = new TextDecoder().decode(o.stdout).match(new RegExp(`${key}:\\s+(\\d+) kB`));
  if (!m) throw new Error(`no ${key} for process ${pid}: it has exited (or /proc could not be read)`);
  return Number(m[1]);
}

/** Resident memory of a process, KiB (Linux /proc), read from outside the process. */
export const rssKiB = (pid: number): Promise<number> => procKiB(pid, "VmRSS");

/** A file of `mib` MiB at `path`: one random MiB repeated (a file's cipher makes every chunk differ anyway). */
export async function makeMiBFile(path: string, mib: number): Promise<void> {
  const one = new Uint8Array(MIB);
  for (let i = 0; i < MIB; i += 65536) crypto.getRandomValues(one.subarray(i, i + 65536));
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let i = 0; i < mib; i++) for (let o = 0; o < MIB;) o += await f.write(one.subarray(o));
  } finally {
    f.close();
  }
}
const MIB = 1024 * 1024;

// ── No plaintext on the server ───────────────────────────────────────────────────────────────────

/**
 * Every byte the server keeps about messages: `parley.db` (which must exist), `-wal` and `-shm` when
 * present, every file of the message log's folder, and the log lines, as one latin1 string.
 */
export async function serverBytes(dir: string, log: readonly string[]): Promise<string> {
  const dec = new TextDecoder("latin1");
  let all = dec.decode(await Deno.readFile(`${dir}/parley.db`)) + log.join("\n");
  const logDir = messageLogDir(`${dir}/parley.db`);
  const logFiles: string[] = [];
  try {
    for await (const e of Deno.readDir(logDir)) if (e.isFile) logFiles.push(`${logDir}/${e.name}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  for (const f of [`${dir}/parley.db-wal`, `${dir}/parley.db-shm`, ...logFiles]) {
    try {
      all += dec.decode(await Deno.readFile(f));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return all;
}

/**
 * Asserts that none of `secrets` is anywhere in the server's database files, message log or log.
 * First known markers are written in the clear into the server's database (a room row, through a
 * second SQLite connection, then checkpointed into parley.db) and, given its `store`, into its
 * message log (a message's mid), and must be found: the check is shown to see what the server stored.
 */
export async function assertNoPlaintext(
  dir: string,
  log: readonly string[],
  secrets: string[],
  shared?: SharedStoreText,
  store?: Store,
): Promise<void> {
  const marker = `plaintext-marker-${crypto.randomUUID().slice(0, 8)}`;
  if (shared) {
    await shared.mark(marker);
    const text = await shared.text() + log.join("\n");
    assert.ok(text.includes(marker), "the plaintext check cannot see the shared store");
    for (const s of secrets) assert.equal(text.includes(s), false, `"${s}" is stored in the clear`);
    return;
  }
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
  const logMarker = `plaintext-log-marker-${crypto.randomUUID().slice(0, 8)}`;
  if (store) {
    const m = {
      mid: logMarker,
      sender: "marker",
      kind: "user" as const,
      target: "marker",
      conv: "d:marker:marker",
    };
    await store.appendMessages([{ ...m, ts: 0, body: new Uint8Array(1) }]);
  }
  const bytes = await serverBytes(dir, log);
  assert.ok(bytes.includes(marker), "the plaintext check cannot see the server's database");
  if (store) assert.ok(bytes.includes(logMarker), "the plaintext check cannot see the server's message log");
  for (const s of secrets) assert.equal(bytes.includes(s), false, `"${s}" is stored in the clear`);
}

/**
 * `parley ARGV` run in this process (runCli) as `user` (password `pw-USER-secret`) with the folder
 * `${t.dir}/cli-USER`, trusting `t`'s certificate: the exit code, the output lines (and joined), errors.
 */
export async function scriptedCli(
  t: { port: number; dir: string; cert: string },
  user: string,
  argv: string[],
): Promise<{ code: number; lines: string[]; out: string; err: string }> {
  const lines: string[] = [], err: string[] = [];
  const env: Record<string, string> = {
    PARLEY_SERVER: `127.0.0.1:${t.port}`,
    PARLEY_USER: user,
    PARLEY_PASSWORD: `pw-${user}-secret`,
    PARLEY_HOME: `${t.dir}/cli-${user}`,
  };
  const code = await runCli([...argv, "--fingerprint", await fingerprintPem(t.cert)], {
    env: { get: (n) => env[n] },
    out: (l) => lines.push(l),
    err: (l) => err.push(l),
    prompts: {},
    version: VERSION,
  });
  return { code, lines, out: lines.join("\n"), err: err.join("\n") };
}
