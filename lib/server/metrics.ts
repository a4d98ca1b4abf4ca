/**
 * Server metrics (issue 38 item 2). `MetricsHooks` is what the server's code calls when something
 * happens (a connection, a login, a commit, a drop); `NO_METRICS` does nothing and is the default,
 * so nothing reads a global. `Metrics` implements the hooks over its own prom-client registry and
 * reads the gauges (connections, outbox depths, files, video viewers, descriptors, cluster state)
 * from an injected probe when scraped. `text()` is the Prometheus text exposition format; `health()`
 * answers whether the store (and, in a cluster, the bus) is reachable.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** What happened, as the server reports it. Every method is cheap and never throws. */
export interface MetricsHooks {
  /** A connection passed the caps and got a session. */
  connection(): void;
  /** A password, credential or token was checked (a register too): right or wrong. */
  login(ok: boolean, via: "login" | "register"): void;
  /** `n` messages committed, `bytes` of bodies (ciphertext). */
  stored(n: number, bytes: number): void;
  /** `n` message frames queued to clients, `bytes` on the wire. */
  delivered(n: number, bytes: number): void;
  /** One group commit took `seconds`. */
  commit(seconds: number): void;
  /** A connection was dropped or refused (`slow`: its outbox overflowed; `refused`: over a cap). */
  drop(reason: "slow" | "refused"): void;
}

export const NO_METRICS: MetricsHooks = {
  connection() {},
  login() {},
  stored() {},
  delivered() {},
  commit() {},
  drop() {},
};

/** The gauges, read at each scrape. */
export interface MetricsSnapshot {
  connections: number;
  loggedIn: number;
  /** Bytes waiting in each session's outbox. */
  outboxBytes: number[];
  files: number;
  fileBytes: number;
  videoViewers: number;
  fdsOpen?: number | null;
  fdsLimit?: number | null;
  /** Other nodes heard from (cluster only). */
  clusterNodes?: number;
}

/** Whether the store and the bus answer. */
export interface HealthChecks {
  store: () => Promise<void>;
  /** Absent: a single node. */
  bus?: () => Promise<void>;
}

export interface Health {
  ok: boolean;
  store: string;
  bus?: string;
}

/** Longest a health check waits for the store or the bus, ms. */
export const HEALTH_TIMEOUT_MS = 2000;

const P = "parley_";
/** Commit latency buckets, seconds: a group commit is ~1 ms on a fast disk, seconds on a sick one. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics implements MetricsHooks {
  readonly registry = new Registry();
  /** Set once the server runs; until then gauges read 0. */
  probe: () => MetricsSnapshot = () => ({
    connections: 0,
    loggedIn: 0,
    outboxBytes: [],
    files: 0,
    fileBytes: 0,
    videoViewers: 0,
  });
  /** Set by the entry once the store (and bus) exist. */
  checks: HealthChecks | null = null;
  #snap: MetricsSnapshot | null = null;
  readonly #connections: Counter;
  readonly #logins: Counter<"via" | "result">;
  readonly #stored: Counter;
  readonly #storedBytes: Counter;
  readonly #delivered: Counter;
  readonly #deliveredBytes: Counter;
  readonly #commit: Histogram;
  readonly #drops: Counter<"reason">;

  /** `fds`: the process's descriptors and limit are known (Linux); `cluster`: nodes and bus gauges. */
  constructor(o: { fds?: boolean; cluster?: boolean } = {}) {
    const registers = [this.registry];
    const counter = (name: string, help: string) => new Counter({ name: P + name, help, registers });
    this.#connections = counter("connections_total", "Connections accepted (given a session).");
    this.#logins = new Counter({
      name: P + "logins_total",
      help: "Logins and registrations (via), by result: ok, or failed (wrong password, name taken, …).",
      labelNames: ["via", "result"],
      registers,
    });
    this.#stored = counter("messages_stored_total", "Messages committed to the store.");
    this.#storedBytes = counter(
      "message_bytes_stored_total",
      "Body bytes (ciphertext) of committed messages.",
    );
    this.#delivered = counter(
      "messages_delivered_total",
      "Message frames queued to clients (live and sync).",
    );
    this.#deliveredBytes = counter("message_bytes_delivered_total", "Wire bytes of message frames queued.");
    this.#commit = new Histogram({
      name: P + "commit_seconds",
      help: "Time of one group commit of messages and acks.",
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.#drops = new Counter({
      name: P + "drops_total",
      help: "Connections dropped (slow: outbox overflow) or refused (over a connection cap).",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["slow", "refused"]) this.#drops.inc({ reason }, 0);
    for (const via of ["login", "register"]) {
      for (const result of ["ok", "failed"]) this.#logins.inc({ via, result }, 0);
    }
    const snap = () => this.#snap ??= this.probe();
    const gauge = (name: string, help: string, read: (s: MetricsSnapshot) => number | null | undefined) =>
      new Gauge({
        name: P + name,
        help,
        registers,
        collect() {
          const v = read(snap());
          if (v !== null && v !== undefined) this.set(v);
        },
      });
    gauge("connections", "Open connections (sessions).", (s) => s.connections);
    gauge("sessions_logged_in", "Sessions logged in.", (s) => s.loggedIn);
    gauge("outbox_bytes", "Bytes waiting in all outboxes together.", (s) => sum(s.outboxBytes));
    gauge(
      "outbox_max_bytes",
      "Bytes waiting in the fullest outbox.",
      (s) => s.outboxBytes.reduce((a, b) => Math.max(a, b), 0),
    ); // no spread: one per connection
    gauge("files", "Relayed files waiting to be fetched.", (s) => s.files);
    gauge("file_bytes", "Bytes of relayed files waiting to be fetched.", (s) => s.fileBytes);
    gauge("video_viewers", "Video streams playing.", (s) => s.videoViewers);
    if (o.fds) {
      gauge("fds_open", "Open file descriptors of the process.", (s) => s.fdsOpen);
      gauge("fds_limit", "The open-files limit (soft) of the process.", (s) => s.fdsLimit);
    }
    if (!o.cluster) return;
    gauge(
      "cluster_nodes",
      "Nodes of the cluster alive, this one included.",
      (s) => s.clusterNodes === undefined ? undefined : s.clusterNodes + 1,
    );
    const checks = () => this.checks;
    new Gauge({
      name: P + "bus_up",
      help: "1 when the cluster bus answers a round trip, 0 when not.",
      registers,
      async collect() {
        const bus = checks()?.bus;
        if (bus) this.set((await probe(bus)) === "ok" ? 1 : 0);
      },
    });
  }

  connection(): void {
    this.#connections.inc();
  }
  login(ok: boolean, via: "login" | "register"): void {
    this.#logins.inc({ via, result: ok ? "ok" : "failed" });
  }
  stored(n: number, bytes: number): void {
    this.#stored.inc(n);
    this.#storedBytes.inc(bytes);
  }
  delivered(n: number, bytes: number): void {
    if (n <= 0) return;
    this.#delivered.inc(n);
    this.#deliveredBytes.inc(bytes);
  }
  commit(seconds: number): void {
    this.#commit.observe(seconds);
  }
  drop(reason: "slow" | "refused"): void {
    this.#drops.inc({ reason });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; the probe is read once per scrape. */
  async text(): Promise<string> {
    this.#snap = null;
    try {
      return await this.registry.metrics();
    } finally {
      this.#snap = null;
    }
  }

  /** Store (and bus) reachable within HEALTH_TIMEOUT_MS each. */
  async health(): Promise<Health> {
    if (!this.checks) return { ok: false, store: "starting" };
    const [store, bus] = await Promise.all([
      probe(this.checks.store),
      this.checks.bus ? probe(this.checks.bus) : Promise.resolve(undefined),
    ]);
    return { ok: store === "ok" && (bus === undefined || bus === "ok"), store, ...(bus ? { bus } : {}) };
  }
}

function sum(xs: number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

/** "ok", or why not (an error, or no answer in time). */
async function probe(check: () => Promise<void>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)),
          HEALTH_TIMEOUT_MS,
        );
      }),
    ]);
    return "ok";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
  }
}
