/**
 * Server configuration: `ServerOptions` is what a caller may set, `ServerConfig` has every default
 * filled in, resolved once by `resolveConfig`. Nothing here reads flags or the environment.
 */
import { VERSION } from "../common/version.ts";

export interface ServerConfig {
  host: string;
  port: number;
  /** Data folder: database, certificate, log, renditions. */
  dataDir: string;
  videosDir: string;
  /** ffmpeg binary (the entry point finds it); null: video commands answer `unavailable`. */
  ffmpeg: string | null;
  /** Library videos playing at once: per session, and for the whole server. */
  maxVideoStreamsPerSession: number;
  maxVideoStreams: number;
  /** MiB of frames kept from whole plays for the next play at the same size (media/transcode_cache.ts); 0: none. */
  videoCacheMiB: number;
  /** User-to-user streams relayed at once: offered per session, and for the whole server. */
  maxRelayStreamsPerSession: number;
  maxRelayStreams: number;
  maxAttempts: number;
  lockoutSeconds: number;
  lockoutCapSeconds: number;
  maxFrame: number;
  /** The version the hello reply announces (lib/common/version.ts; a test may pretend another). */
  version: string;
  loginTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Bytes a connection may have waiting to be written before it is dropped as too slow. */
  maxQueueBytes: number;
  maxConns: number;
  /**
   * Connections over `maxConns` still told why in a frame after their TLS handshake; beyond it they
   * are closed at accept. Counted in the descriptor budget (fd_budget.ts), which lowers it when short.
   */
  refuseMargin: number;
  maxConnsPerAddr: number;
  /** Requests per second per connection after login (token bucket; 0 = unlimited). */
  msgRate: number;
  msgBurst: number;
  /** Password attempts (login/register) per minute per address (0 = unlimited). */
  loginRate: number;
  hashWorkers: number;
  historyLimit: number;
  shutdownGraceMs: number;
  /** Bytes of message bodies a user may have stored (issue 10 item 5); over it, `send` answers `quota`. */
  quotaBytes: number;
  /** Messages acknowledged by every recipient and older than this many days are deleted (0 = never). */
  retentionDays: number;
  /** One-time prekeys kept per user; ones uploaded past it are ignored (the reply says how many). */
  maxPrekeys: number;
  /**
   * Opt-in (`--log-messages`): one log line per stored message with metadata only — sender, target,
   * body size and seq (the log line has the time). Never the body: it is end-to-end encrypted anyway.
   */
  logMessages: boolean;
  /** Bytes of relayed files one user may have waiting on the server (issue 12). */
  fileQuota: number;
  /** Seconds a relayed file is kept after its upload started. */
  fileTtlSeconds: number;
  /** Folder of relayed files (`--files-dir`); null: `<dataDir>/files`. */
  filesDir: string | null;
  /** Bytes of relayed files all users together may have waiting (0 = no cap). */
  filesMaxBytes: number;
  /** Free space (MiB) kept on the disks of the data and files folders: below it sends, uploads and registrations are refused. */
  minFreeMiB: number;
  /** Who may register: anyone, holders of an admin's one-time invitation code, or nobody. */
  registration: "open" | "invite" | "closed";
  /** Accounts made per address per hour (0 = unlimited). */
  registerRate: number;
  /** Accounts made per hour on the whole server (0 = unlimited). */
  registerRateTotal: number;
}

export type ServerOptions = Partial<ServerConfig>;

export const DEFAULTS: ServerConfig = {
  host: "127.0.0.1",
  port: 9797,
  dataDir: "./data",
  videosDir: "./videos",
  ffmpeg: null,
  maxVideoStreamsPerSession: 2,
  maxVideoStreams: 64,
  videoCacheMiB: 128,
  maxRelayStreamsPerSession: 2,
  maxRelayStreams: 256,
  maxAttempts: 3,
  lockoutSeconds: 10,
  lockoutCapSeconds: 3600,
  maxFrame: 1024 * 1024,
  version: VERSION,
  loginTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 20_000,
  maxQueueBytes: 8 * 1024 * 1024,
  maxConns: 10_000,
  refuseMargin: 64,
  maxConnsPerAddr: 64,
  msgRate: 50,
  msgBurst: 200,
  loginRate: 30,
  hashWorkers: 2,
  historyLimit: 1000,
  shutdownGraceMs: 5_000,
  quotaBytes: 256 * 1024 * 1024,
  retentionDays: 0,
  maxPrekeys: 200,
  logMessages: false,
  fileQuota: 1024 * 1024 * 1024,
  fileTtlSeconds: 7 * 86400,
  filesDir: null,
  filesMaxBytes: 16 * 1024 * 1024 * 1024,
  minFreeMiB: 512,
  registration: "open",
  registerRate: 20,
  registerRateTotal: 200,
};

export const REGISTRATION_MODES = ["open", "invite", "closed"] as const;

export function resolveConfig(o: ServerOptions = {}): ServerConfig {
  const c = { ...DEFAULTS };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (c as Record<string, unknown>)[k] = v;
  const ints: (keyof ServerConfig)[] = [
    "port",
    "maxAttempts",
    "lockoutSeconds",
    "lockoutCapSeconds",
    "maxFrame",
    "maxQueueBytes",
    "maxConns",
    "refuseMargin",
    "maxConnsPerAddr",
    "msgRate",
    "msgBurst",
    "loginRate",
    "hashWorkers",
    "historyLimit",
    "maxVideoStreamsPerSession",
    "maxVideoStreams",
    "videoCacheMiB",
    "maxRelayStreamsPerSession",
    "maxRelayStreams",
    "quotaBytes",
    "retentionDays",
    "maxPrekeys",
    "fileQuota",
    "fileTtlSeconds",
    "filesMaxBytes",
    "minFreeMiB",
    "registerRate",
    "registerRateTotal",
  ];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new RangeError(`Option ${k} must be a whole number ≥ 0, got ${v}`);
    }
  }
  if (c.port > 65535) throw new RangeError(`Port must be at most 65535, got ${c.port}`);
  if (c.maxAttempts < 1) throw new RangeError("Option maxAttempts must be at least 1");
  if (!(REGISTRATION_MODES as readonly string[]).includes(c.registration)) {
    throw new RangeError(`Option registration must be open, invite or closed, got ${c.registration}`);
  }
  if (c.maxFrame < 1024) throw new RangeError("Option maxFrame must be at least 1024");
  return c;
}

/** The folder of relayed files: `--files-dir`, else `files` inside the data folder. */
export function filesDirOf(c: { dataDir: string; filesDir?: string | null }): string {
  return c.filesDir ?? `${c.dataDir}/files`;
}
