/**
 * The server's flags — one table (issue 35) that launch.ts parses with (`parseOptions`), prints
 * as `--help`'s option list (`flagHelp`) and README's "Server options" table is checked against
 * (tests/command_docs_test.ts). Adding a flag is one row here. Pure: nothing here
 * reads flags or the environment. Flags are a fixed contract: add rows, never rename one.
 */
import { FFMPEG_HINT } from "../media/mod.ts";
import { DEFAULTS } from "./config.ts";
import { DEFAULT_LOG_MAX_BYTES } from "./data_dir.ts";
import { STOP_TIMEOUT_S } from "./stop_bound.ts";

export interface FlagSpec {
  /** The long name without dashes. */
  name: string;
  /** The value's placeholder (`N`, `DIR`); none for an on/off flag. */
  arg?: string;
  short?: string;
  /** One sentence (or a few clauses), the same in --help and README. */
  help: string;
  /** The default, shown as `default X` in --help and in README's Default column. */
  def?: string | number;
}

export const SERVER_FLAGS: readonly FlagSpec[] = [
  { name: "host", arg: "HOST", help: "address to listen on", def: DEFAULTS.host },
  { name: "port", arg: "N", help: "port; 0 picks a free one", def: DEFAULTS.port },
  { name: "data", arg: "DIR", help: "data folder: database, certificate, log", def: DEFAULTS.dataDir },
  {
    name: "store",
    arg: "URL",
    help: "keep everything in PostgreSQL (postgres://USER@HOST:PORT/DB, or PARLEY_STORE) instead of the " +
      "data folder's SQLite file; several nodes may share it when they share a bus",
  },
  {
    name: "bus",
    arg: "URL",
    help:
      "join the other nodes on this NATS (nats://HOST:PORT, or PARLEY_BUS); needs --store postgres://…; " +
      "nats://USER:PASS@HOST:PORT when NATS asks for a password, tls://… for TLS",
  },
  {
    name: "store-tls-ca",
    arg: "FILE",
    help: "PEM CA that PostgreSQL's certificate must chain to (TLS, verified); or ?sslmode=require in the " +
      "address for TLS without verification",
  },
  {
    name: "cluster-key-file",
    arg: "FILE",
    help: "the key every node of a cluster shares (PARLEY_CLUSTER_KEY_FILE; without it: cluster.key in the " +
      "data folder, made on first start): copy it to every node",
  },
  { name: "bus-creds", arg: "FILE", help: "NATS .creds file (JWT and nkey seed) instead of a password" },
  { name: "bus-nkey", arg: "FILE", help: "file holding a NATS user nkey seed (SU…) instead of a password" },
  {
    name: "bus-tls-ca",
    arg: "FILE",
    help: "PEM CA that NATS's certificate must chain to (makes TLS required)",
  },
  {
    name: "bus-tls-cert",
    arg: "FILE",
    help: "PEM client certificate for NATS (with --bus-tls-key) when NATS asks for one",
  },
  { name: "bus-tls-key", arg: "FILE", help: "the private key of --bus-tls-cert" },
  {
    name: "videos",
    arg: "DIR",
    help: `video folder (for ffmpeg: ${FFMPEG_HINT})`,
    def: DEFAULTS.videosDir,
  },
  {
    name: "video-cache",
    arg: "MIB",
    help: "memory for the frames of whole plays, kept so the next play of a video at the same size runs no " +
      "ffmpeg, in MiB; 0 = keep none",
    def: DEFAULTS.videoCacheMiB,
  },
  { name: "max-attempts", arg: "N", help: "failed logins before a lockout", def: DEFAULTS.maxAttempts },
  {
    name: "lockout",
    arg: "SECONDS",
    help: "first lockout length, doubling per repeat",
    def: DEFAULTS.lockoutSeconds,
  },
  { name: "lockout-cap", arg: "SECONDS", help: "longest lockout", def: DEFAULTS.lockoutCapSeconds },
  {
    name: "tls-cert",
    arg: "FILE",
    help: "PEM certificate (without it: a self-signed one made in the data folder)",
  },
  { name: "tls-key", arg: "FILE", help: "PEM private key for --tls-cert" },
  { name: "max-frame", arg: "BYTES", help: "largest frame accepted", def: DEFAULTS.maxFrame },
  {
    name: "max-conns",
    arg: "N",
    help: "connections in total; lowered, with a warning, to fit the open-files limit (ulimit -n)",
    def: DEFAULTS.maxConns,
  },
  { name: "max-conns-per-addr", arg: "N", help: "connections per address", def: DEFAULTS.maxConnsPerAddr },
  {
    name: "msg-rate",
    arg: "N",
    help: "requests per second per connection, 0 = no limit",
    def: DEFAULTS.msgRate,
  },
  {
    name: "login-rate",
    arg: "N",
    help: "failed password attempts per minute per address, 0 = no limit",
    def: DEFAULTS.loginRate,
  },
  {
    name: "login-timeout",
    arg: "SECONDS",
    help: "time allowed to log in",
    def: DEFAULTS.loginTimeoutMs / 1000,
  },
  {
    name: "quota",
    arg: "MIB",
    help: "message bytes each user may have stored, in MiB; past it a send is refused",
    def: DEFAULTS.quotaBytes / 1048576,
  },
  {
    name: "retention",
    arg: "DAYS",
    help: "delete messages every recipient acknowledged once older than DAYS; 0 keeps them",
    def: DEFAULTS.retentionDays,
  },
  {
    name: "file-quota",
    arg: "BYTES",
    help: "relayed file bytes one user may have waiting",
    def: DEFAULTS.fileQuota,
  },
  { name: "file-ttl", arg: "SECONDS", help: "how long a relayed file is kept", def: DEFAULTS.fileTtlSeconds },
  {
    name: "files-max",
    arg: "BYTES",
    help: "relayed file bytes all users together may have waiting, 0 = no cap",
    def: DEFAULTS.filesMaxBytes,
  },
  {
    name: "files-dir",
    arg: "DIR",
    help: "keep relayed files in DIR, e.g. on another disk (without it: DATA/files)",
  },
  {
    name: "min-free",
    arg: "MIB",
    help: "free space kept on the disks of the data and files folders: below it sends, uploads and " +
      "registrations are refused; 0 = off",
    def: DEFAULTS.minFreeMiB,
  },
  {
    name: "registration",
    arg: "MODE",
    help:
      "who may register: open, invite (a one-time code from an admin: /invite, parley admin invite) or closed",
    def: DEFAULTS.registration,
  },
  {
    name: "register-rate",
    arg: "N",
    help: "accounts made per address per hour, 0 = no limit",
    def: DEFAULTS.registerRate,
  },
  {
    name: "register-rate-total",
    arg: "N",
    help: "accounts made per hour on the whole server, 0 = no limit",
    def: DEFAULTS.registerRateTotal,
  },
  { name: "log-level", arg: "LEVEL", help: "debug, info, warn or error", def: "info" },
  {
    name: "log-messages",
    help: "log each stored message's metadata (time, sender, target, size, seq; never the body) to " +
      "parley.log; off by default",
  },
  {
    name: "log-max-bytes",
    arg: "BYTES",
    help: "parley.log's bound: past it the file becomes parley.log.1 (one kept) and a new one starts; 0 = " +
      "never rotated",
    def: DEFAULT_LOG_MAX_BYTES,
  },
  {
    name: "metrics",
    arg: "HOST:PORT",
    help:
      "serve Prometheus metrics at http://HOST:PORT/metrics and a health check at /healthz (plain HTTP; " +
      "off by default; a bare PORT means 127.0.0.1)",
  },
  {
    name: "stop-timeout",
    arg: "SECONDS",
    help: "longest a stop (SIGTERM, SIGINT, /shutdown) may take: past it the process exits with what " +
      "was still pending logged (keep it below systemd's TimeoutStopSec)",
    def: STOP_TIMEOUT_S,
  },
  {
    name: "other-server",
    help: "accept a database recorded with another certificate key: a start records this one (a new TLS " +
      "key); restore takes another server's backup",
  },
  { name: "console", help: "read console commands from stdin even when it is not a terminal" },
  { name: "version", help: "print the version and exit" },
  { name: "help", short: "h", help: "print this help and exit" },
];

/** The flag as typed: `--name ARG`. */
export const flagUsage = (f: FlagSpec): string => `--${f.name}${f.arg ? " " + f.arg : ""}`;

/** The options of `node:util`'s parseArgs: a flag with a value is a string, the others booleans. */
export function parseOptions(
  flags: readonly FlagSpec[] = SERVER_FLAGS,
): Record<string, { type: "string" | "boolean"; short?: string }> {
  return Object.fromEntries(
    flags.map((
      f,
    ) => [f.name, { type: f.arg ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) }]),
  );
}

/** `--help`'s option lines: the flag in a column of `col`, its help wrapped to `width`. */
export function flagHelp(flags: readonly FlagSpec[] = SERVER_FLAGS, width = 104, col = 27): string {
  const lines: string[] = [];
  for (const f of flags) {
    const text = f.help + (f.def !== undefined ? ` (default ${f.def})` : "");
    const head = `  ${flagUsage(f)}${f.short ? `, -${f.short}` : ""}`;
    const words = text.split(" ");
    let line = head.length + 1 < col ? head.padEnd(col) : (lines.push(head), " ".repeat(col));
    let fresh = true;
    for (const w of words) {
      if (!fresh && line.length + 1 + w.length > width) {
        lines.push(line);
        line = " ".repeat(col);
        fresh = true;
      }
      line += (fresh ? "" : " ") + w;
      fresh = false;
    }
    lines.push(line);
  }
  return lines.join("\n");
}
