/**
 * The server's start (server.ts calls `launch`): parse flags → resolve config → open the data folder
 * and store (lib/server/launch_open.ts) → listen → serve; the console on stdin when it is a terminal
 * (or with --console); a signal, the console's `/shutdown` or a broken store stops it within
 * `--stop-timeout`. The offline commands are lib/server/launch_offline.ts. Everything it reads of the
 * process — arguments, environment, signals, clock, standard streams, the console's input, files by
 * name, the exit — is a port (`LaunchPorts`), so tests start and stop a server in memory.
 */
import type { Clock } from "../common/clock.ts";
import type { Level, LogSink } from "../common/logger.ts";
import { VERSION } from "../common/version.ts";
import { fingerprintPem } from "../net/cert.ts";
import { METRICS_MAX_CONNS, parseListenAddress } from "../net/http_metrics.ts";
import { FFMPEG_HINT, findFfmpeg } from "../media/mod.ts";
import { parseArgs } from "node:util";
import { DEFAULTS, filesDirOf, REGISTRATION_MODES, type ServerConfig } from "./config.ts";
import { runConsoleLine } from "./console.ts";
import { flagHelp, parseOptions } from "./flags.ts";
import { Metrics } from "./metrics.ts";
import { ParleyServer } from "./server.ts";
import { STOP_TIMEOUT_S, stopWithin } from "./stop_bound.ts";
import { clusterStore, type Flags, num, type Opened, type OpenPorts, openServing } from "./launch_open.ts";
import { adminCommand, backupCommand, checkCommand, type OfflinePorts } from "./launch_offline.ts";
import { type FdProbe, fitConnsToFdLimit, startMetrics } from "./launch_fds.ts";

/** What the server reads and does of its process, given by server.ts (fakes in tests). */
export interface LaunchPorts extends OpenPorts, OfflinePorts {
  args: readonly string[];
  env: { get(name: string): string | undefined };
  clock: Clock;
  /** The serving server's stdout: the line scripts wait for, the console's answers (never throws). */
  stdout: LogSink;
  /** The serving server's stderr: its log lines (never throws). */
  stderr: LogSink;
  /** Installs the stop on the process's signals (SIGINT; SIGTERM where there is one). */
  signals: (stop: (why: string) => void) => void;
  /** Ends the process with `code` (after a stop). */
  exit: (code: number) => void;
  /** The console's input: whether stdin is a terminal, and its text as it comes. */
  console: { isTerminal: boolean; chunks: () => AsyncIterable<string> };
  /** Whether `path` is a folder (`--videos`). */
  isFolder: (path: string) => Promise<boolean>;
  fds: FdProbe;
}

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
 * Runs the server's command line: the exit code, or -1 while it serves (it ends through `ports.exit`).
 * A mistake (a bad flag, a store that cannot open) is one line `parley-server: …` on stderr and 1.
 */
export async function launch(ports: LaunchPorts): Promise<number> {
  try {
    return await main(ports);
  } catch (e) {
    ports.printErr(`parley-server: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

function registrationMode(v: string | undefined): ServerConfig["registration"] | undefined {
  if (v === undefined) return undefined;
  if (!(REGISTRATION_MODES as readonly string[]).includes(v)) {
    throw new Error(`--registration takes open, invite or closed, got "${v}"`);
  }
  return v as ServerConfig["registration"];
}

async function main(ports: LaunchPorts): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...ports.args],
    allowPositionals: true,
    options: parseOptions(),
  });
  const f = values as Record<string, string | undefined>; // the flags with a value (lib/server/flags.ts)
  const on = (name: string) => values[name] === true; // the on/off ones
  if (on("help")) return ports.print(HELP), 0;
  if (on("version")) return ports.print(`parley-server ${VERSION}`), 0;
  const dataDir = f.data ?? DEFAULTS.dataDir;
  const level = (f["log-level"] ?? "info") as Level;
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new Error(`--log-level must be debug, info, warn or error`);
  }

  if (positionals[0] === "admin" && (positionals[1] === "check" || positionals[1] === "salvage")) {
    return await checkCommand(
      positionals[1],
      dataDir,
      filesDirOf({ dataDir, filesDir: f["files-dir"] }),
      ports,
    );
  }
  if (positionals[0] === "admin") return await adminCommand(dataDir, positionals.slice(1), ports);
  if (positionals[0] === "backup" || positionals[0] === "restore") {
    return await backupCommand(positionals, {
      dataDir,
      filesDir: f["files-dir"],
      store: f.store,
      otherServer: on("other-server"),
      tlsCert: f["tls-cert"],
    }, ports);
  }
  if (positionals.length) throw new Error(`Unknown command "${positionals[0]}"; see --help`);
  return await serve({ f, on }, dataDir, level, ports);
}

/** Runs the server until a signal, the console's /shutdown or a broken store stops it. */
async function serve(fl: Flags, dataDir: string, level: Level, ports: LaunchPorts): Promise<number> {
  const { f, on } = fl;
  const metricsAt = f.metrics === undefined ? null : parseListenAddress(f.metrics);
  const o = await openServing(fl, dataDir, level, ports);
  const { dd, log, store, pg, bus, node } = o;
  const metrics = metricsAt
    ? new Metrics({ fds: Deno.build.os === "linux", cluster: !!o.busUrl })
    : undefined;
  const ffmpeg = await findMedia(f, o, ports);
  const fds = await fitConnsToFdLimit(num(f["max-conns"], "max-conns") ?? DEFAULTS.maxConns, ffmpeg, log, {
    // The --metrics listener's socket and connections (issue 69 N1).
    metricsFds: metricsAt ? METRICS_MAX_CONNS + 1 : 0,
  }, ports);
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
  const http = metrics && metricsAt
    ? await startMetrics(metrics, metricsAt, srv, store, bus, log, ports)
    : null;
  const beat = pg
    ? setInterval(() => pg.heartbeat(node, !!bus, ports.clock.now()).catch(() => {}), 1000)
    : null;
  if (pg) await pg.heartbeat(node, !!bus, ports.clock.now());
  await sayCluster(f, o);
  const fp = await fingerprintPem(dd.tls.cert);
  log.info("listen", {
    host: srv.config.host,
    port: srv.port,
    fingerprint: fp,
    cert: dd.createdCert ? "created" : "reused",
  });
  const stop = stopper(
    o,
    srv,
    http,
    beat,
    (num(f["stop-timeout"], "stop-timeout") ?? STOP_TIMEOUT_S) * 1000,
    ports,
  );
  // The signals are taken before the line scripts wait for: a SIGTERM right after it shuts down
  // gracefully (installed after it, one could find no handler yet and end the process at once).
  ports.signals((why) => void stop(why));

  // One write: the line scripts wait for ("listening", a fixed contract), then how a user connects.
  const where = /^(0\.0\.0\.0|::|\[::\])$/.test(srv.config.host) ? "HOST" : srv.config.host;
  ports.stdout(
    `Parley listening on ${srv.config.host}:${srv.port} (TLS) fingerprint ${fp}\n` +
      `Connect: parley --server ${where.includes(":") ? `[${where}]` : where}:${srv.port} --user NAME ` +
      `(check the fingerprint above when it asks)`,
  );
  if (on("console") || ports.console.isTerminal) void runConsole(srv, stop, ports);
  return -1; // keep running
}

/** Video: PARLEY_FFMPEG, then PATH (none: video answers "unavailable"); a --videos folder that is not there. */
async function findMedia(f: Flags["f"], { log }: Opened, ports: LaunchPorts): Promise<string | null> {
  const ffmpeg = findFfmpeg(ports.env);
  if (ffmpeg) log.info("video.ffmpeg", { path: ffmpeg });
  else log.warn("video.unavailable", { reason: `ffmpeg not found (${FFMPEG_HINT})` });
  // A --videos folder that is not there lists no video: said here, by name (issue 71.23), not only "videos=0".
  if (f.videos !== undefined && !(await ports.isFolder(f.videos))) {
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
    videoCacheMiB: num(f["video-cache"], "video-cache"),
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
  const { redactBusUrl } = await import("./bus/nats_bus.ts"); // loaded already: the bus is up
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
 * deadline (`boundMs`, lib/server/stop_bound.ts, read on the ports' clock), so a PostgreSQL or NATS that
 * does not answer leaves the step pending, logged, and the process ends all the same. A broken embedded
 * store stops it with 70.
 */
function stopper(
  o: Opened,
  srv: ParleyServer,
  http: { close(): Promise<void> } | null,
  beat: ReturnType<typeof setInterval> | null,
  boundMs: number,
  ports: LaunchPorts,
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
      { log, now: () => ports.clock.now() },
    );
    dd.close(); // after the last log line: the log file is in it
    ports.exit(code || (r.done ? 0 : 1));
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
async function runConsole(
  srv: ParleyServer,
  stop: (why: string) => Promise<void>,
  ports: LaunchPorts,
): Promise<void> {
  let buf = "";
  for await (const chunk of ports.console.chunks()) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const out = await runConsoleLine(srv, line);
      if (out) ports.stdout(out);
      if (/^\/?shutdown\b/.test(line.trim())) return stop("console");
    }
  }
}
