/**
 * Parley server entry: parse flags → resolve config → open the data folder and store → listen →
 * serve; console on stdin when it is a terminal (or with --console); SIGINT/SIGTERM shut down
 * gracefully. `server.ts admin grant|revoke|unlock NAME` edits accounts offline.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { followCaller } from "./lib/common/task_cwd.ts";
import { systemClock } from "./lib/common/clock.ts";
import { type Level, Logger, writerSink } from "./lib/common/logger.ts";
import { fingerprintPem, keyFingerprintPem } from "./lib/net/cert.ts";
import { bindCertKey } from "./lib/server/cert_key.ts";
import { FFMPEG_HINT, findFfmpeg } from "./lib/media/mod.ts";
import { DEFAULTS, filesDirOf, REGISTRATION_MODES, type ServerConfig } from "./lib/server/config.ts";
import { backup, databaseInUse, restore } from "./lib/server/backup.ts";
import { adminCheck, adminSalvage } from "./lib/server/data_check.ts";
import { BASELINE_GUESS, fitFdBudget } from "./lib/server/fd_budget.ts";
import { runConsoleLine } from "./lib/server/console.ts";
import { dbPathIn, ensureDataDir, holdServing, loadClusterKey, openDataDir } from "./lib/server/data_dir.ts";
import { normalizeName } from "./lib/protocol/names.ts";
import { flagHelp, parseOptions } from "./lib/server/flags.ts";
import { OFFLINE_ACTIONS, type OfflineAction, offlineAdmin } from "./lib/server/offline_admin.ts";
import { ParleyServer } from "./lib/server/server.ts";
import { STOP_TIMEOUT_S, stopWithin } from "./lib/server/stop_bound.ts";
import { SqliteStore, type SqliteStoreOptions } from "./lib/server/store/sqlite_store.ts";
import type { PostgresStore } from "./lib/server/store/postgres_store.ts";
import type { Store } from "./lib/server/store/store.ts";
import type { Bus } from "./lib/server/bus/bus.ts";
import type { ClusterOptions } from "./lib/server/cluster.ts";
import type { NatsBusOptions } from "./lib/server/bus/nats_bus.ts";
import { VERSION } from "./lib/common/version.ts";
import { Metrics } from "./lib/server/metrics.ts";
import { METRICS_MAX_CONNS, parseListenAddress, serveMetricsHttp } from "./lib/net/http_metrics.ts";

export { VERSION };

const HELP = `Parley server ${VERSION}

Usage:
  parley-server [options]                 start the server
  parley-server admin grant|revoke NAME   make NAME an admin, or take it back (offline)
  parley-server admin unlock NAME         lift a login lockout (offline)
  parley-server admin invite              a one-time invitation code to register with (offline)
  parley-server admin check               check the data folder: database, messages, seqs, files (also beside a running server)
  parley-server admin salvage             rebuild a damaged database from what can be read, keeping the old files (offline)
  parley-server backup DEST               copy the data folder to DEST (new or empty) while the server runs
  parley-server restore SRC               put a backup back into the data folder (server stopped) and check it

Options:
${flagHelp()}

Examples:
  parley-server --port 9797 --data ./data
  parley-server admin grant alice`;

/**
 * The serving server's stdout and stderr (its log lines, the line scripts wait for, the console's
 * answers): sinks that never throw (a full disk under a redirected stream: logger.ts guardedSink).
 */
const stdoutSink = writerSink((b) => Deno.stdout.writeSync(b), systemClock);
const stderrSink = writerSink((b) => Deno.stderr.writeSync(b), systemClock);

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} takes a whole number, got "${v}"`);
  return Number(v);
}

function registrationMode(v: string | undefined): ServerConfig["registration"] | undefined {
  if (v === undefined) return undefined;
  if (!(REGISTRATION_MODES as readonly string[]).includes(v)) {
    throw new Error(`--registration takes open, invite or closed, got "${v}"`);
  }
  return v as ServerConfig["registration"];
}

/** The flags as parsed: those with a value (`f`, lib/server/flags.ts) and whether an on/off one is given. */
type Flags = { f: Record<string, string | undefined>; on: (name: string) => boolean };

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: parseOptions() });
  const f = values as Record<string, string | undefined>; // the flags with a value (lib/server/flags.ts)
  const on = (name: string) => values[name] === true; // the on/off ones
  if (on("help")) return console.log(HELP), 0;
  if (on("version")) return console.log(`parley-server ${VERSION}`), 0;
  const dataDir = f.data ?? DEFAULTS.dataDir;
  const level = (f["log-level"] ?? "info") as Level;
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new Error(`--log-level must be debug, info, warn or error`);
  }

  if (positionals[0] === "admin" && (positionals[1] === "check" || positionals[1] === "salvage")) {
    return await checkCommand(positionals[1], dataDir, filesDirOf({ dataDir, filesDir: f["files-dir"] }));
  }
  if (positionals[0] === "admin") return await adminCommand(dataDir, positionals.slice(1));
  if (positionals[0] === "backup" || positionals[0] === "restore") {
    return await backupCommand(positionals, {
      dataDir,
      filesDir: f["files-dir"],
      store: f.store,
      otherServer: on("other-server"),
      tlsCert: f["tls-cert"],
    });
  }
  if (positionals.length) throw new Error(`Unknown command "${positionals[0]}"; see --help`);
  return await serve({ f, on }, dataDir, level);
}

/** Opened for serving: the data folder, the log, the store (and PostgreSQL, the bus) of this node. */
interface Opened {
  dd: Awaited<ReturnType<typeof openDataDir>>;
  log: Logger;
  node: string;
  busUrl: string;
  store: Store;
  pg: PostgresStore | null;
  bus: Bus | null;
  busOpts: NatsBusOptions | null;
  /** Set once the stop exists: what a broken embedded store does. */
  onBroken: (e: Error) => void;
}

/** Runs the server until a signal, the console's /shutdown or a broken store stops it. */
async function serve(fl: Flags, dataDir: string, level: Level): Promise<number> {
  const { f, on } = fl;
  const metricsAt = f.metrics === undefined ? null : parseListenAddress(f.metrics);
  const o = await openServing(fl, dataDir, level);
  const { dd, log, store, pg, bus, node } = o;
  const metrics = metricsAt
    ? new Metrics({ fds: Deno.build.os === "linux", cluster: !!o.busUrl })
    : undefined;
  const ffmpeg = await findMedia(f, log);
  const fds = await fitConnsToFdLimit(num(f["max-conns"], "max-conns") ?? DEFAULTS.maxConns, ffmpeg, log, {
    // The --metrics listener's socket and connections (issue 69 N1).
    metricsFds: metricsAt ? METRICS_MAX_CONNS + 1 : 0,
  });
  const srv = new ParleyServer({ ...serverConfig(fl, dataDir, ffmpeg), ...fds }, {
    store,
    log,
    tls: dd.tls,
    bus: bus ?? undefined,
    metrics,
    clusterKey: o.busOpts?.key,
    ...(o.busOpts?.accept ? { clusterKeysAccepted: o.busOpts.accept } : {}),
    // Through a bus blip (lib/server/cluster.ts): presence from the nodes' PostgreSQL heartbeats,
    // controls (kicks, roles, device changes) from PostgreSQL's log of them.
    ...(pg && bus ? { cluster: clusterStore(pg, node) } : {}),
  });
  await srv.start();
  const http = metrics && metricsAt ? await startMetrics(metrics, metricsAt, srv, store, bus, log) : null;
  const beat = pg ? setInterval(() => pg.heartbeat(node, !!bus, Date.now()).catch(() => {}), 1000) : null;
  if (pg) await pg.heartbeat(node, !!bus, Date.now());
  await sayCluster(f, o);
  const fp = await fingerprintPem(dd.tls.cert);
  log.info("listen", {
    host: srv.config.host,
    port: srv.port,
    fingerprint: fp,
    cert: dd.createdCert ? "created" : "reused",
  });
  const stop = stopper(o, srv, http, beat, (num(f["stop-timeout"], "stop-timeout") ?? STOP_TIMEOUT_S) * 1000);
  // The signals are taken before the line scripts wait for: a SIGTERM right after it shuts down
  // gracefully (installed after it, one could find no handler yet and end the process at once).
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  // Windows has no SIGTERM; Ctrl-C (SIGINT) and the console's /shutdown still work there.
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));

  // One write: the line scripts wait for ("listening", a fixed contract), then how a user connects.
  const where = /^(0\.0\.0\.0|::|\[::\])$/.test(srv.config.host) ? "HOST" : srv.config.host;
  stdoutSink(
    `Parley listening on ${srv.config.host}:${srv.port} (TLS) fingerprint ${fp}\n` +
      `Connect: parley --server ${where.includes(":") ? `[${where}]` : where}:${srv.port} --user NAME ` +
      `(check the fingerprint above when it asks)`,
  );
  if (on("console") || Deno.stdin.isTerminal()) void runConsole(srv, stop);
  return -1; // keep running
}

/** The data folder, the log, the serving lock, the store and bus, and the check of the certificate's key. */
async function openServing({ f, on }: Flags, dataDir: string, level: Level): Promise<Opened> {
  const dd = await openDataDir(dataDir, {
    certFile: f["tls-cert"],
    keyFile: f["tls-key"],
    certNames: f.host ? [f.host] : [],
    logMaxBytes: num(f["log-max-bytes"], "log-max-bytes"),
  });
  const log = new Logger([stderrSink, dd.logSink], systemClock, level);
  // Held while serving, in the data and files folders: `restore` refuses while any server runs (issue 69 B2).
  const serving = await holdServing([dataDir, filesDirOf({ dataDir, filesDir: f["files-dir"] })]);
  for (const u of serving.unlocked) {
    log.warn("serving.lock", { dir: u.dir, error: u.why, hint: "restore cannot see this server there" });
  }
  const storeUrl = f.store ?? Deno.env.get("PARLEY_STORE") ?? "";
  const busUrl = f.bus ?? Deno.env.get("PARLEY_BUS") ?? "";
  const node = `node-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  // The embedded store broke (an I/O error, damage): it takes no more writes; the server stops with a
  // failure for its supervisor to restart it, and the next start recovers from the WAL (issue 68).
  const o = { onBroken: (e: Error) => log.error("store.broken", { error: e.message }) };
  const opened = await openStoreAndBus(storeUrl, busUrl, node, dd.dbPath, {
    storeCa: await readOpt(f["store-tls-ca"]),
    // The cluster key once the store says which other nodes it knows (none made then: issue 69 S3).
    bus: busUrl ? (others) => busOptions(dataDir, f, log, others) : null,
    embedded: {
      check: true,
      warn: (event, fields) => log.warn(event, fields),
      onBroken: (e) => o.onBroken(e),
    },
  });
  // The database belongs with this certificate's key (issue 69): recorded at its first start.
  const keyFp = await keyFingerprintPem(dd.tls.cert);
  const certKey = await bindCertKey(opened.store, keyFp, on("other-server"));
  if (certKey.kind === "refused") {
    log.error("cert.key", { problem: certKey.message });
    await opened.store.close();
    throw new Error(certKey.message);
  }
  if (certKey.kind !== "same") {
    log.info("cert.key", { recorded: keyFp, ...(certKey.kind === "replaced" ? { was: certKey.was } : {}) });
  }
  await dd.secure(); // the store has made its files: 0600 (and the folder 0700) whatever they were
  return Object.assign(o, { dd, log, node, busUrl, ...opened });
}

/** Video: PARLEY_FFMPEG, then PATH (none: video answers "unavailable"); a --videos folder that is not there. */
async function findMedia(f: Flags["f"], log: Logger): Promise<string | null> {
  const ffmpeg = findFfmpeg(Deno.env);
  if (ffmpeg) log.info("video.ffmpeg", { path: ffmpeg });
  else log.warn("video.unavailable", { reason: `ffmpeg not found (${FFMPEG_HINT})` });
  // A --videos folder that is not there lists no video: said here, by name (issue 71.23), not only "videos=0".
  if (f.videos !== undefined && !(await Deno.stat(f.videos).then((st) => st.isDirectory, () => false))) {
    log.warn("video.folder_missing", {
      dir: f.videos,
      hint: "create it and put the videos in it, then restart",
    });
  }
  return ffmpeg;
}

/** The server's configuration from the flags (the descriptor budget aside: fitConnsToFdLimit). */
function serverConfig({ f, on }: Flags, dataDir: string, ffmpeg: string | null): Partial<ServerConfig> {
  const loginTimeout = num(f["login-timeout"], "login-timeout");
  const quota = num(f.quota, "quota");
  return {
    host: f.host,
    port: num(f.port, "port"),
    dataDir,
    videosDir: f.videos,
    ffmpeg,
    maxAttempts: num(f["max-attempts"], "max-attempts"),
    lockoutSeconds: num(f.lockout, "lockout"),
    lockoutCapSeconds: num(f["lockout-cap"], "lockout-cap"),
    maxFrame: num(f["max-frame"], "max-frame"),
    maxConnsPerAddr: num(f["max-conns-per-addr"], "max-conns-per-addr"),
    msgRate: num(f["msg-rate"], "msg-rate"),
    loginRate: num(f["login-rate"], "login-rate"),
    loginTimeoutMs: loginTimeout === undefined ? undefined : loginTimeout * 1000,
    quotaBytes: quota === undefined ? undefined : quota * 1048576,
    retentionDays: num(f.retention, "retention"),
    logMessages: on("log-messages"),
    fileQuota: num(f["file-quota"], "file-quota"),
    fileTtlSeconds: num(f["file-ttl"], "file-ttl"),
    filesMaxBytes: num(f["files-max"], "files-max"),
    filesDir: f["files-dir"],
    minFreeMiB: num(f["min-free"], "min-free"),
    registration: registrationMode(f.registration),
    registerRate: num(f["register-rate"], "register-rate"),
    registerRateTotal: num(f["register-rate-total"], "register-rate-total"),
  };
}

/** Says the node joined its cluster, and warns when NATS takes anyone (no credentials given). */
async function sayCluster(f: Flags["f"], o: Opened): Promise<void> {
  if (!o.bus) return;
  const { redactBusUrl } = await import("./lib/server/bus/nats_bus.ts"); // loaded already: the bus is up
  o.log.info("cluster.join", { node: o.node, bus: redactBusUrl(o.busUrl) });
  if (!/\/\/[^/,]*@/.test(o.busUrl) && !f["bus-creds"] && !f["bus-nkey"] && !f["bus-tls-cert"]) {
    o.log.warn("cluster.bus", {
      hint: "no NATS credentials given: events stay sealed, but anyone who reaches NATS can flood it " +
        "(README: Lock NATS and PostgreSQL down)",
    });
  }
}

/**
 * The one stop of the process (signals, the console, a broken store): each step raced against one
 * deadline (`boundMs`, lib/server/stop_bound.ts), so a PostgreSQL or NATS that does not answer leaves the
 * step pending, logged, and the process ends all the same. A broken embedded store stops it with 70.
 */
function stopper(
  o: Opened,
  srv: ParleyServer,
  http: { close(): Promise<void> } | null,
  beat: ReturnType<typeof setInterval> | null,
  boundMs: number,
): (why: string, code?: number) => Promise<void> {
  const { log, pg, node, dd } = o;
  let exiting = false;
  const stop = async (why: string, code = 0) => {
    if (exiting) return;
    exiting = true;
    log.info("signal", { why });
    if (beat !== null) clearInterval(beat);
    const r = await stopWithin(
      [
        { name: "metrics close", run: async () => await http?.close() },
        {
          name: "leave the cluster (PostgreSQL nodes row)",
          run: async () => await pg?.leave(node),
          capMs: 2000,
        },
        { name: "server shutdown", run: () => srv.shutdown(), waiting: () => srv.shutdownStep },
      ],
      boundMs,
      { log, now: () => Date.now() },
    );
    dd.close(); // after the last log line: the log file is in it
    Deno.exit(code || (r.done ? 0 : 1));
  };
  o.onBroken = (e) => {
    log.error("store.broken", {
      error: e.message,
      hint: "the database failed (an I/O error or damage): no more writes; stopping for a restart, " +
        "which recovers from its write-ahead log (`parley-server admin check` says what is wrong)",
    });
    void stop("store broken", 70);
  };
  return stop;
}

/** The server console on stdin: a line at a time; `/shutdown` stops the process. */
async function runConsole(srv: ParleyServer, stop: (why: string) => Promise<void>): Promise<void> {
  const dec = new TextDecoderStream();
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(dec)) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const out = await runConsoleLine(srv, line);
      if (out) stdoutSink(out);
      if (/^\/?shutdown\b/.test(line.trim())) return stop("console");
    }
  }
}

/** `--metrics`: gauges read from the server and this process, health from the store and bus; HTTP on. */
async function startMetrics(
  metrics: Metrics,
  at: { host: string; port: number },
  srv: ParleyServer,
  store: Store,
  bus: Bus | null,
  log: Logger,
) {
  const limit = (await fdLimit())?.soft ?? null;
  let fds: number | null = await openFds();
  metrics.probe = () => ({ ...srv.snapshot(), fdsOpen: fds, fdsLimit: limit });
  // Counted by a process, so not on the scrape's path: refreshed every 10 s.
  const timer = setInterval(() => void openFds().then((n) => fds = n), 10_000);
  metrics.checks = {
    store: async () => void await store.lastSeq(),
    ...(bus?.ping ? { bus: () => bus.ping!() } : {}),
  };
  const http = serveMetricsHttp({
    ...at,
    maxConns: METRICS_MAX_CONNS,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    health: async () => {
      const h = await metrics.health();
      const text = `${h.ok ? "ok" : "unhealthy"} store=${h.store}${h.bus ? ` bus=${h.bus}` : ""}`;
      return { ok: h.ok, text };
    },
    onError: (e) => log.warn("metrics.error", { error: String(e) }),
  });
  log.info("metrics.listen", { host: at.host, port: http.port });
  const close = () => (clearInterval(timer), http.close());
  stdoutSink(`Metrics on http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${http.port}/metrics`);
  return { close };
}

/** What a node's Cluster reads of PostgreSQL besides messages: live nodes, and the controls' log. */
function clusterStore(pg: PostgresStore, node: string): ClusterOptions {
  return {
    liveNodes: (now, within) => pg.liveNodes(node, now, within),
    controls: {
      put: (origin, at, event) => pg.putControl(origin, at, event),
      since: (after, limit) => pg.controlsSince(after, limit),
      last: () => pg.lastControl(),
    },
  };
}

/** A node not heard from for this long is taken for dead (heartbeats are every second). */
const NODE_TIMEOUT_MS = 5000;

/**
 * SQLite in the data folder, or PostgreSQL from `--store postgres://…`; with `--bus`, the NATS bus. A
 * Postgres store without a bus refuses to start while another node uses the same database. The
 * PostgreSQL and NATS clients are loaded here, only when asked for: a single node on SQLite starts
 * without them (V8's heap after start 11.4 → 9.8 MB, ~15 ms less CPU to start).
 */
async function openStoreAndBus(
  storeUrl: string,
  busUrl: string,
  node: string,
  dbPath: string,
  o: {
    storeCa?: string;
    bus: ((others: string[]) => Promise<NatsBusOptions>) | null;
    embedded: SqliteStoreOptions;
  },
): Promise<{ store: Store; pg: PostgresStore | null; bus: Bus | null; busOpts: NatsBusOptions | null }> {
  if (!storeUrl) {
    if (busUrl) throw new Error("--bus needs a shared store: add --store postgres://USER@HOST:PORT/DB");
    return { store: new SqliteStore(dbPath, o.embedded), pg: null, bus: null, busOpts: null };
  }
  if (!/^postgres(ql)?:\/\//.test(storeUrl)) {
    throw new Error(`--store takes a postgres://USER@HOST:PORT/DB address, got "${storeUrl}"`);
  }
  const { PostgresStore } = await import("./lib/server/store/postgres_store.ts");
  const pg = await PostgresStore.open(storeUrl, o.storeCa ? { tlsCa: o.storeCa } : {});
  try {
    const others = await pg.liveNodes(node, Date.now(), NODE_TIMEOUT_MS);
    if (!busUrl && others.length) {
      throw new Error(
        `another node (${others[0]}) is using this database; start every node with --bus nats://HOST:PORT`,
      );
    }
    const busOpts = busUrl && o.bus ? await o.bus(await pg.knownNodes(node)) : null;
    const bus = busUrl && busOpts
      ? await (await import("./lib/server/bus/nats_bus.ts")).NatsBus.open(busUrl, node, busOpts)
      : null;
    return { store: pg, pg, bus, busOpts };
  } catch (e) {
    await pg.close();
    throw e;
  }
}

async function readOpt(file: string | undefined): Promise<string | undefined> {
  return file === undefined ? undefined : await Deno.readTextFile(file);
}

/** The bus's cluster key, NATS credentials and TLS files, read here (nothing in lib/ reads flags or env). */
async function busOptions(
  dataDir: string,
  f: Record<string, string | boolean | undefined>,
  log: Logger,
  others: string[],
): Promise<NatsBusOptions> {
  const str = (k: string) => typeof f[k] === "string" ? f[k] as string : undefined;
  const keyFile = str("cluster-key-file") ?? Deno.env.get("PARLEY_CLUSTER_KEY_FILE");
  const k = await loadClusterKey(dataDir, keyFile, others);
  if (k.created) {
    log.warn("cluster.key", { created: k.path, hint: "copy this file to every node of the cluster" });
  }
  const [creds, nkeySeed, ca, cert, key] = await Promise.all(
    ["bus-creds", "bus-nkey", "bus-tls-ca", "bus-tls-cert", "bus-tls-key"].map((n) => readOpt(str(n))),
  );
  const tls = ca || cert || key ? { ca, cert, key } : undefined;
  return {
    key: k.key,
    ...(k.also.length ? { accept: k.also } : {}),
    log,
    ...(creds ? { creds } : {}),
    ...(nkeySeed ? { nkeySeed } : {}),
    ...(tls ? { tls } : {}),
  };
}

/** `admin grant|revoke|unlock NAME` with the server stopped: Core's own actions (lib/server/offline_admin.ts). */
async function adminCommand(dataDir: string, args: string[]): Promise<number> {
  const [action, raw = ""] = args;
  if (!action || !(OFFLINE_ACTIONS as readonly string[]).includes(action) || (!raw && action !== "invite")) {
    throw new Error(`Usage: admin grant|revoke|unlock NAME, or admin invite`);
  }
  await ensureDataDir(dataDir);
  // Accounts only (messages are indexed only when asked for): SQLite lets it run beside a server.
  const running = await Deno.stat(dbPathIn(dataDir)).then(
    () => databaseInUse(dbPathIn(dataDir)),
    () => false,
  );
  const store = new SqliteStore(dbPathIn(dataDir), { lazyMessages: true });
  try {
    const log = new Logger([], systemClock);
    const user = normalizeName(raw) ?? raw;
    const before = action === "invite" ? undefined : (await store.getUser(user))?.role;
    const r = await offlineAdmin(store, action as OfflineAction, raw, { clock: systemClock, log, dataDir });
    if (!r.ok) throw new Error(r.code === "no_such_user" ? `${r.msg}; they must register first` : r.msg);
    console.log(r.text);
    const changed = (action === "grant" && before !== "admin") || (action === "revoke" && before === "admin");
    if (changed && running) {
      // The running server reads roles from the store at each admin command, not at once everywhere.
      console.error(
        action === "grant"
          ? `A server is running on this data folder: ${user} is an admin there from their next login ` +
            `(its console's /grant ${user} applies it at once)`
          : `A server is running on this data folder: ${user}'s next admin command there is refused, ` +
            "and their clients are told then",
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `admin check` (exit 1 when something is wrong) and `admin salvage` (server stopped): lib/server/data_check.ts. */
async function checkCommand(what: "check" | "salvage", dataDir: string, filesDir: string): Promise<number> {
  if (what === "check") {
    const r = adminCheck(dataDir, filesDir);
    console.log(r.lines.join("\n"));
    return r.ok ? 0 : 1;
  }
  const db = dbPathIn(dataDir);
  if (await Deno.stat(db).then(() => databaseInUse(db), () => false)) {
    throw new Error(`a server is using ${db}: stop it first`);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  console.log((await adminSalvage(dataDir, stamp)).join("\n"));
  return 0;
}

/** `backup DEST` and `restore SRC` (lib/server/backup.ts): the data folder, `--files-dir`, `--store`. */
async function backupCommand(
  [cmd, path, ...extra]: string[],
  o: { dataDir: string; filesDir?: string; store?: string; otherServer: boolean; tlsCert?: string },
): Promise<number> {
  if (!path || extra.length) throw new Error(`Usage: ${cmd} ${cmd === "backup" ? "DEST" : "SRC"}`);
  const common = {
    dataDir: o.dataDir,
    filesDir: filesDirOf({ dataDir: o.dataDir, filesDir: o.filesDir }),
    postgres: !!(o.store ?? Deno.env.get("PARLEY_STORE")),
    now: Date.now(),
  };
  const lines = cmd === "backup" ? await backup(path, { ...common, version: VERSION }) : await restore(path, {
    ...common,
    otherServer: o.otherServer,
    tlsCert: o.tlsCert === undefined ? undefined : await Deno.readTextFile(o.tlsCert),
  });
  for (const l of lines) console.log(l);
  return 0;
}

if (import.meta.main) {
  // `deno task server …` from another folder: --data, --videos, … are the caller's (lib/common/task_cwd.ts).
  const here = followCaller({
    initCwd: () => Deno.env.get("INIT_CWD"),
    cwd: () => Deno.cwd(),
    programDir: fileURLToPath(new URL(".", import.meta.url)),
    hasConfig: () => Deno.statSync(new URL("./deno.json", import.meta.url)).isFile,
  });
  if (here) Deno.chdir(here);
  try {
    const code = await main(Deno.args);
    if (code >= 0) Deno.exit(code);
  } catch (e) {
    console.error(`parley-server: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}

/** The open-files limit of this process (soft, hard) read with util-linux prlimit; null if unknown. */
async function fdLimit(): Promise<{ soft: number; hard: number } | null> {
  try {
    const o = await new Deno.Command("prlimit", {
      args: ["--pid", String(Deno.pid), "--nofile", "--output", "SOFT,HARD", "--noheadings"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const m = new TextDecoder().decode(o.stdout).trim().match(/^(\d+|unlimited)\s+(\d+|unlimited)$/);
    if (!o.success || !m) return null;
    const n = (x: string) => (x === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(x));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return null; // no prlimit here (not Linux, or a minimal system): nothing to check against
  }
}

/**
 * Descriptors this process has open now (/proc/PID/fd on Linux, listed by `ls`: Deno reads /proc only
 * with --allow-all); null when they cannot be counted. Includes the pipe of the `ls` itself.
 */
async function openFds(): Promise<number | null> {
  if (Deno.build.os !== "linux") return null;
  try {
    const o = await new Deno.Command("ls", {
      args: ["-1U", `/proc/${Deno.pid}/fd`],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    if (!o.success) return null;
    return new TextDecoder().decode(o.stdout).split("\n").filter((l) => /^\d+$/.test(l)).length;
  } catch {
    return null;
  }
}

/**
 * `--max-conns` must fit the open-files limit with everything else the server holds (fd_budget.ts),
 * or accept() fails with EMFILE under load. Raises the soft limit towards the hard one when it is
 * short; if it is still short, serves fewer connections (and video streams) and says so in one sentence.
 */
async function fitConnsToFdLimit(
  want: number,
  ffmpeg: string | null,
  log: Logger,
  more: { metricsFds: number },
): Promise<{ maxConns: number; refuseMargin?: number; maxVideoStreams?: number }> {
  const baseline = (await openFds()) ?? BASELINE_GUESS;
  const wants = {
    ...more,
    maxConns: want,
    refuseMargin: DEFAULTS.refuseMargin,
    maxVideoStreams: ffmpeg ? DEFAULTS.maxVideoStreams : 0,
  };
  let lim = await fdLimit();
  if (!lim) return { maxConns: want };
  let fit = fitFdBudget(lim.soft, baseline, wants);
  if (fit.lowered && lim.hard > lim.soft) {
    const soft = Math.min(lim.hard, fit.need);
    await new Deno.Command("prlimit", {
      args: [
        "--pid",
        String(Deno.pid),
        `--nofile=${soft}:${lim.hard === Number.MAX_SAFE_INTEGER ? "unlimited" : lim.hard}`,
      ],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => null);
    lim = await fdLimit() ?? lim;
    fit = fitFdBudget(lim.soft, baseline, wants);
    if (!fit.lowered) log.info("limits.fds", { raised: lim.soft });
  }
  if (!fit.lowered) return { maxConns: want };
  stderrSink(
    `parley-server: --max-conns ${want} needs ${fit.need} open files but the limit is ${lim.soft}; ` +
      `serving at most ${fit.maxConns} connections (raise it with ulimit -n)`,
  );
  log.warn("limits.fds", {
    maxConns: fit.maxConns,
    refuseMargin: fit.refuseMargin,
    maxVideoStreams: ffmpeg ? fit.maxVideoStreams : undefined,
    limit: lim.soft,
    open: baseline,
  });
  return {
    maxConns: fit.maxConns,
    refuseMargin: fit.refuseMargin,
    ...(ffmpeg ? { maxVideoStreams: fit.maxVideoStreams } : {}),
  };
}
