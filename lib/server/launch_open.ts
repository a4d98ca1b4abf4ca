/**
 * The server's start, its opening half (lib/server/launch.ts runs it): the data folder, the log, the
 * serving lock, the store (SQLite, or PostgreSQL with the NATS bus) and the check of the certificate's
 * key. The environment and the files read here (`--store-tls-ca`, the bus's credentials) come through
 * the launch's ports, read by server.ts: nothing in lib/ reads Deno.env.
 */
import type { Clock } from "../common/clock.ts";
import { type Level, Logger, type LogSink } from "../common/logger.ts";
import { keyFingerprintPem } from "../net/cert.ts";
import { bindCertKey } from "./cert_key.ts";
import { filesDirOf } from "./config.ts";
import { holdServing, loadClusterKey, openDataDir } from "./data_dir.ts";
import { SqliteStore, type SqliteStoreOptions } from "./store/sqlite_store.ts";
import type { PostgresStore } from "./store/postgres_store.ts";
import type { Store } from "./store/store.ts";
import type { Bus } from "./bus/bus.ts";
import type { ClusterOptions } from "./cluster.ts";
import type { NatsBusOptions } from "./bus/nats_bus.ts";

/** The flags as parsed: those with a value (`f`, lib/server/flags.ts) and whether an on/off one is given. */
export type Flags = { f: Record<string, string | undefined>; on: (name: string) => boolean };

/** What opening reads of the process: its environment, files by name, the log's stderr, the clock. */
export interface OpenPorts {
  env: { get(name: string): string | undefined };
  /** A file's text (`--store-tls-ca`, `--bus-creds`, …); throws as reading it would. */
  readText: (path: string) => Promise<string>;
  /** The server's standard error as a log sink. */
  stderr: LogSink;
  clock: Clock;
}

/** A flag that takes a whole number. */
export function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} takes a whole number, got "${v}"`);
  return Number(v);
}

/** Opened for serving: the data folder, the log, the store (and PostgreSQL, the bus) of this node. */
export interface Opened {
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

/** The data folder, the log, the serving lock, the store and bus, and the check of the certificate's key. */
export async function openServing(
  { f, on }: Flags,
  dataDir: string,
  level: Level,
  ports: OpenPorts,
): Promise<Opened> {
  const dd = await openDataDir(dataDir, {
    certFile: f["tls-cert"],
    keyFile: f["tls-key"],
    certNames: f.host ? [f.host] : [],
    logMaxBytes: num(f["log-max-bytes"], "log-max-bytes"),
  });
  const log = new Logger([ports.stderr, dd.logSink], ports.clock, level);
  // Held while serving, in the data and files folders: `restore` refuses while any server runs (issue 69 B2).
  const serving = await holdServing([dataDir, filesDirOf({ dataDir, filesDir: f["files-dir"] })]);
  for (const u of serving.unlocked) {
    log.warn("serving.lock", { dir: u.dir, error: u.why, hint: "restore cannot see this server there" });
  }
  const storeUrl = f.store ?? ports.env.get("PARLEY_STORE") ?? "";
  const busUrl = f.bus ?? ports.env.get("PARLEY_BUS") ?? "";
  const node = `node-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  // The embedded store broke (an I/O error, damage): it takes no more writes; the server stops with a
  // failure for its supervisor to restart it, and the next start recovers from the WAL (issue 68).
  const o = { onBroken: (e: Error) => log.error("store.broken", { error: e.message }) };
  const readOpt = optionalReader(ports);
  const opened = await openStoreAndBus(storeUrl, busUrl, node, dd.dbPath, {
    storeCa: await readOpt(f["store-tls-ca"]),
    // The cluster key once the store says which other nodes it knows (none made then: issue 69 S3).
    bus: busUrl ? (others) => busOptions(dataDir, f, log, others, ports) : null,
    embedded: {
      check: true,
      warn: (event, fields) => log.warn(event, fields),
      onBroken: (e) => o.onBroken(e),
    },
    now: () => ports.clock.now(),
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

/** What a node's Cluster reads of PostgreSQL besides messages: live nodes, and the controls' log. */
export function clusterStore(pg: PostgresStore, node: string): ClusterOptions {
  return {
    liveNodes: (now, within) => pg.nodeProtocols(node, now, within),
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
    now: () => number;
  },
): Promise<{ store: Store; pg: PostgresStore | null; bus: Bus | null; busOpts: NatsBusOptions | null }> {
  if (!storeUrl) {
    if (busUrl) throw new Error("--bus needs a shared store: add --store postgres://USER@HOST:PORT/DB");
    return { store: new SqliteStore(dbPath, o.embedded), pg: null, bus: null, busOpts: null };
  }
  if (!/^postgres(ql)?:\/\//.test(storeUrl)) {
    throw new Error(`--store takes a postgres://USER@HOST:PORT/DB address, got "${storeUrl}"`);
  }
  const { PostgresStore } = await import("./store/postgres_store.ts");
  const pg = await PostgresStore.open(storeUrl, o.storeCa ? { tlsCa: o.storeCa } : {});
  try {
    const others = await pg.liveNodes(node, o.now(), NODE_TIMEOUT_MS);
    if (!busUrl && others.length) {
      throw new Error(
        `another node (${others[0]}) is using this database; start every node with --bus nats://HOST:PORT`,
      );
    }
    const busOpts = busUrl && o.bus ? await o.bus(await pg.knownNodes(node)) : null;
    const bus = busUrl && busOpts
      ? await (await import("./bus/nats_bus.ts")).NatsBus.open(busUrl, node, busOpts)
      : null;
    return { store: pg, pg, bus, busOpts };
  } catch (e) {
    await pg.close();
    throw e;
  }
}

/** A file named by a flag, read when the flag is given. */
function optionalReader(ports: OpenPorts): (file: string | undefined) => Promise<string | undefined> {
  return async (file) => file === undefined ? undefined : await ports.readText(file);
}

/** The bus's cluster key, NATS credentials and TLS files, read through the ports (server.ts reads flags and env). */
async function busOptions(
  dataDir: string,
  f: Record<string, string | boolean | undefined>,
  log: Logger,
  others: string[],
  ports: OpenPorts,
): Promise<NatsBusOptions> {
  const str = (k: string) => typeof f[k] === "string" ? f[k] as string : undefined;
  const keyFile = str("cluster-key-file") ?? ports.env.get("PARLEY_CLUSTER_KEY_FILE");
  const k = await loadClusterKey(dataDir, keyFile, others);
  if (k.created) {
    log.warn("cluster.key", { created: k.path, hint: "copy this file to every node of the cluster" });
  }
  const readOpt = optionalReader(ports);
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
