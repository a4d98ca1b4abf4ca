/**
 * `ParleyServer`: accepts TLS connections, runs each through the frame decoder and the command
 * table, enforces login deadlines, pings, connection caps and rate limits, and shuts down
 * gracefully (tell every client, drain queues, close the store). Sockets come from lib/net.
 */
import { type Clock, systemClock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { yieldToIo } from "../common/turn.ts";
import { encodeFrame, FrameDecoder } from "../protocol/frame.ts";
import { ErrorCode, ProtocolError } from "../protocol/errors.ts";
import { handlerFailed } from "./send_reply.ts";
import { type Inbound, parseInbound, type RequestKind } from "../protocol/messages.ts";
import { hostOf } from "./hub.ts";
import { listenTlsServer, type ServerConn, type TlsServer } from "../net/tls_server.ts";
import { PasswordHasher } from "../crypto/password.ts";
import { Accounts, type Hasher } from "./accounts.ts";
import { type CommandTable, commandTable } from "./commands.ts";
import { resolveConfig, type ServerConfig, type ServerOptions } from "./config.ts";
import { Core } from "./core.ts";
import { Hub } from "./hub.ts";
import { MessageLog, QUEUE_HIGH, slowCommitWarner } from "./message_log.ts";
import { Outbox } from "./outbox.ts";
import { RequestChain, Slice } from "./request_chain.ts";
import { KeyedBuckets, TokenBucket } from "./rate.ts";
import { Session } from "./session.ts";
import type { Store } from "./store/store.ts";
import type { Bus } from "./bus/bus.ts";
import { Cluster, type ClusterOptions } from "./cluster.ts";
import { StreamRelay } from "./video/relay.ts";
import { FileShare } from "./file_share.ts";
import { CertCheck } from "./cert_check.ts";
import { fingerprintPem } from "../net/cert.ts";
import { FileStore } from "./file_store.ts";
import { sidecarKey } from "./file_meta.ts";
import { HeapTrim, LOOK_MS } from "./heap_trim.ts";
import { freeBytes } from "./data_dir.ts";
import { VideoService } from "./video/service.ts";
import type { MetricsHooks, MetricsSnapshot } from "./metrics.ts";

const MAX_VIOLATIONS = 20;
/**
 * Sends (and ack entries) of one connection not yet committed beyond which its socket is not read:
 * a client that pipelines faster than the disk commits waits in its own TCP buffers, not in server
 * memory.
 */
export const SEND_WINDOW = 256;
/**
 * Longest run of one connection's requests before other work gets a turn, ms: requests run one
 * after another in microtasks, so without it a flood of pipelined requests from one user would
 * freeze everyone (request_chain.ts `Slice`).
 */
const SLICE_MS = 4;
/** Requests between two reads of the clock in a slice. */
const SLICE_CHECK = 4;
/** Repeated denials of one command to one user share an audit row per window of this length. */
const DENIED_WINDOW_MS = 10 * 60_000;
/** How often the retention sweep runs (when `--retention` is set). */
const SWEEP_EVERY_MS = 3600_000;
/** How often the stored copies of disappearing messages are looked at. */
const EXPIRE_EVERY_MS = 60_000;
/** How often expired relayed files are removed, ms. */
const SWEEP_MS = 10_000;

export interface ServerDeps {
  store: Store;
  log: Logger;
  tls: { cert: string; key: string };
  clock?: Clock;
  hasher?: Hasher & { close?: () => void };
  /** Joins other nodes sharing the store (issue 16); none: a single node. */
  bus?: Bus;
  cluster?: ClusterOptions;
  /** Free bytes on the disk under a folder (default data_dir.ts's `freeBytes`; tests fake a full disk). */
  freeSpace?: (dir: string) => number | null;
  /** Counters fed as things happen (`--metrics`); none: not counted. */
  metrics?: MetricsHooks;
  /**
   * The cluster key (with `bus`): the sidecars of the shared files folder are authenticated under it
   * (file_meta.ts `sidecarKey`, issue 69 S1); none: they carry no MAC.
   */
  clusterKey?: Uint8Array;
  /** Cluster keys also accepted during a rotation (bus/seal.ts `parseClusterKeys`): their sidecars verify too. */
  clusterKeysAccepted?: readonly Uint8Array[];
  /** The video streams' paced waits (video/service.ts `sleep`; tests see a paused stream park). */
  videoSleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class ParleyServer {
  readonly config: ServerConfig;
  readonly core: Core;
  readonly hub = new Hub();
  readonly video: VideoService;
  readonly relay: StreamRelay;
  readonly files: FileStore;
  readonly #table: CommandTable;
  readonly #hasher: Hasher & { close?: () => void };
  readonly #conns = new Map<Session, ServerConn>();
  #listener: TlsServer | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #expirer: ReturnType<typeof setInterval> | null = null;
  /** Gives back the young generation a burst left, once the server is quiet (heap_trim.ts). */
  readonly #trim = new HeapTrim();
  #trimmer: ReturnType<typeof setInterval> | null = null;
  /** Reads and requests served (and connections accepted) since the trim's last look. */
  #reads = 0;
  /** Sessions opened since the trim's last look. */
  #opened = 0;
  #closingStep: string | null = null;
  #closing: Promise<void> | null = null;
  /** Each connection's reading, its requests run, by session (gone once it ended). */
  readonly #readers = new Map<Session, Promise<void>>();
  /** One connection's run of requests before other work gets a turn. */
  readonly #slice = new Slice(SLICE_MS, SLICE_CHECK, () => performance.now(), yieldToIo);
  /** Set while this node is one of several (deps.bus). */
  cluster: Cluster | null = null;

  constructor(opts: ServerOptions, readonly deps: ServerDeps) {
    this.config = resolveConfig(opts);
    const clock = deps.clock ?? systemClock;
    this.#hasher = deps.hasher ?? new PasswordHasher({ workers: this.config.hashWorkers });
    const accounts = new Accounts(deps.store, this.#hasher, clock, deps.log, this.config);
    const messages = new MessageLog(deps.store, this.hub);
    messages.onSlowCommit = slowCommitWarner(deps.log, clock);
    this.core = new Core(
      this.config,
      deps.store,
      this.hub,
      accounts,
      messages,
      clock,
      deps.log,
      deps.freeSpace ?? freeBytes,
    );
    if (deps.metrics) this.core.metrics = this.hub.metrics = messages.metrics = deps.metrics;
    this.video = new VideoService({
      videosDir: this.config.videosDir,
      dataDir: this.config.dataDir,
      ffmpeg: this.config.ffmpeg,
      log: deps.log,
      maxStreams: this.config.maxVideoStreams,
      maxStreamsPerSession: this.config.maxVideoStreamsPerSession,
      cacheBytes: this.config.videoCacheMiB * 1048576,
      clock,
      ...(deps.videoSleep ? { sleep: deps.videoSleep } : {}),
    });
    this.relay = new StreamRelay(this.hub, {
      perSession: this.config.maxRelayStreamsPerSession,
      total: this.config.maxRelayStreams,
    }, () => clock.now());
    this.files = new FileStore(
      this.core.filesDir,
      this.config.fileQuota,
      this.config.fileTtlSeconds * 1000,
      clock,
    );
    const { loginRate, registerRate, registerRateTotal } = this.config;
    this.#table = commandTable(
      {
        login: new KeyedBuckets(loginRate / 60, Math.max(1, loginRate), clock),
        register: new KeyedBuckets(registerRate / 3600, Math.max(1, registerRate), clock),
        registerAll: new TokenBucket(registerRateTotal / 3600, Math.max(1, registerRateTotal), clock),
      },
      { service: this.video, relay: this.relay },
      this.files,
    );
  }

  get clock(): Clock {
    return this.core.clock;
  }

  get port(): number {
    return this.#listener?.port ?? 0;
  }

  async start(): Promise<void> {
    await this.core.loadCaches();
    if (this.deps.bus) this.files.orphanGraceMs = 60_000; // the folder is shared (file_share.ts)
    if (this.deps.clusterKey) {
      const keys = [this.deps.clusterKey, ...(this.deps.clusterKeysAccepted ?? [])];
      this.files.macKey = keys.length === 1
        ? await sidecarKey(keys[0]!)
        : await Promise.all(keys.map((k) => sidecarKey(k))); // the first seals, every one verifies
    }
    await this.files.load();
    if (this.config.minFreeMiB && this.core.disk.free(this.config.dataDir) === null) {
      this.core.log.warn("disk.unchecked", {
        reason: "free space unknown (needs --allow-sys=statfs); the --min-free floor is not checked",
      });
    }
    if (this.deps.bus) {
      this.cluster = new Cluster(this.core, this.deps.bus, this.clock, this.deps.cluster);
      this.cluster.files = new FileShare(this.files, this.deps.bus, this.core.log);
      const fingerprint = await fingerprintPem(this.deps.tls.cert);
      this.cluster.certs = new CertCheck(this.deps.bus, this.core.log, fingerprint);
      await this.cluster.start();
    }
    this.#listener = await listenTlsServer({
      host: this.config.host,
      port: this.config.port,
      ...this.deps.tls,
      // The TLS handshake must finish well within the login deadline.
      handshakeMs: Math.max(50, Math.min(5000, this.config.loginTimeoutMs)),
      admit: (addr) => this.#admit(addr),
      onConn: (c) => this.#open(c),
      onRefused: (c) => this.#refuse(c),
      onError: (what, e) => this.core.log.warn("listen.error", { what, error: String(e) }),
    });
    const tick = Math.max(20, Math.min(1000, this.config.loginTimeoutMs / 4, this.config.pingTimeoutMs / 4));
    this.#ticker = setInterval(() => this.#tick(), tick);
    if (this.config.retentionDays) {
      const sweep = () =>
        void this.core.sweepRetention().catch((e) => this.core.log.error("retention", { error: String(e) }));
      this.#sweeper = setInterval(sweep, SWEEP_EVERY_MS);
      sweep();
    }
    // Disappearing messages (issue 39.5): the server's copies go within a minute of their time.
    this.#expirer = setInterval(
      () => void this.core.sweepExpired().catch((e) => this.core.log.error("expiry", { error: String(e) })),
      EXPIRE_EVERY_MS,
    );
    this.#trim.settle();
    this.#trimmer = setInterval(() => {
      this.#trim.look(this.#reads, this.hub.sessions.size, this.#opened);
      this.#reads = this.#opened = 0;
    }, LOOK_MS);
    this.video.start();
  }

  /**
   * At TCP accept, before any TLS: connections (sessions plus handshakes in progress) are counted
   * against the total and per-address caps. Just over a cap a connection is refused with a clear
   * frame after its handshake; far over (twice the per-address cap, or the total cap plus
   * `refuseMargin`), or while the listener is short of descriptors, it is closed at once, so a
   * flood cannot hold descriptors.
   */
  #admit(addr: string): "accept" | "refuse" | "drop" {
    if (this.#closing) return "drop";
    this.#reads++;
    const l = this.#listener;
    const all = this.hub.sessions.size + (l?.pending ?? 0);
    const here = this.hub.connectionsFrom(addr) + (l?.pendingFrom(hostOf(addr)) ?? 0);
    const { maxConns, maxConnsPerAddr, refuseMargin } = this.config;
    if (all < maxConns && here < maxConnsPerAddr) return "accept";
    this.core.log.warn("conn.refused", { addr, reason: "too many connections" });
    this.core.metrics.drop("refused");
    const far = all >= maxConns + refuseMargin || here >= 2 * maxConnsPerAddr;
    return far || l?.strained ? "drop" : "refuse";
  }

  /** Tells a connection over a cap why, then closes it. */
  #refuse(conn: ServerConn): void {
    const f = encodeFrame({
      t: "bye",
      code: ErrorCode.TooManyConnections,
      reason: "Too many connections; try again later",
    });
    conn.write(f).catch(() => {}).finally(() => conn.close());
  }

  #open(conn: ServerConn): void {
    if (this.#closing) return conn.close();
    const ra = conn.remoteAddr as Deno.NetAddr;
    const addr = `${ra.hostname}:${ra.port}`;
    const log = this.core.log;
    // deno-lint-ignore prefer-const
    let session: Session;
    const close = (code: string, reason: string, until?: number) => this.#close(session, code, reason, until);
    const outbox = new Outbox(
      conn,
      this.config.maxQueueBytes,
      () => {
        log.warn("drop.slow", { user: session.user || undefined, addr });
        this.core.metrics.drop("slow");
        this.#close(
          session,
          ErrorCode.TooSlow,
          "Dropped: you were not reading fast enough",
          undefined,
          false,
        );
      },
      () => this.#close(session, "io", "Connection lost", undefined, false),
    );
    session = new Session(
      addr,
      this.clock.now(),
      outbox,
      new TokenBucket(this.config.msgRate, this.config.msgBurst, this.clock),
      close,
    );
    if (
      this.hub.sessions.size >= this.config.maxConns ||
      this.hub.connectionsFrom(addr) >= this.config.maxConnsPerAddr
    ) {
      log.warn("conn.refused", { addr, reason: "too many connections" });
      this.core.metrics.drop("refused");
      return this.#refuse(conn);
    }
    this.core.metrics.connection();
    this.#opened++;
    this.hub.add(session);
    this.#conns.set(session, conn);
    log.info("conn.open", { addr });
    this.#readers.set(session, this.#read(session, conn).finally(() => this.#readers.delete(session)));
  }

  async #read(s: Session, conn: ServerConn): Promise<void> {
    const decoder = new FrameDecoder(this.config.maxFrame, { owns: true });
    const chain = new RequestChain<Exclude<Inbound, { t: "pong" }>>(
      (m, body) => this.#dispatch(s, m, body),
      () => this.#slice.pause(),
    );
    let handed = 0; // sends handed on since the chain was last awaited
    try {
      while (s.state !== "closed") {
        // Each piece as the TLS socket received it (no copy; the decoder keeps it until its frames
        // complete, the connection pauses while too much waits unread).
        const chunk = await conn.readChunk();
        this.#slice.restart(); // a read resumes in a fresh turn of the event loop
        this.#reads++;
        if (chunk === null) {
          decoder.end();
          break;
        }
        s.lastIn = this.clock.now();
        s.pingAt = 0;
        // Two batches wait for the group commit already: the bytes wait, unparsed, for a commit
        // (message_log.ts QUEUE_HIGH); the next waiting reader goes on once these are handled.
        const room = this.core.messages.room();
        if (room) await room;
        try {
          const frames = decoder.push(chunk);
          // (indexed: ARCHITECTURE.md rule 9; a for-of made an iterator result a frame, ~40 bytes a DM)
          for (let i = 0; i < frames.length; i++) {
            const f = frames[i]!;
            this.#reads++;
            let msg: Inbound;
            try {
              msg = parseInbound(f.header);
            } catch (e) {
              if (!(e instanceof ProtocolError)) throw e;
              s.fail(e.id, e.code, e.message);
              if (++s.violations > MAX_VIOLATIONS) s.bye(ErrorCode.Invalid, "Too many invalid messages");
              continue;
            }
            if (msg.t === "pong") continue;
            const pause = chain.run(msg, f.body);
            if (pause) await pause; // the slice is over: other sockets first
            if (
              msg.t === "send"
                ? ++handed >= SEND_WINDOW
                : msg.t === "ack" && (chain.tail || s.inflight >= SEND_WINDOW)
            ) {
              // Every request handed so far has run; then wait while too many sends (and ack entries)
              // await their commit.
              handed = 0;
              await chain.tail;
              await s.inflightBelow(SEND_WINDOW);
            } else if ((msg.t === "send" || msg.t === "ack") && this.core.messages.backlog >= QUEUE_HIGH) {
              await this.core.messages.room(); // a piece of many sends or acks: the rest waits for a commit too
            }
          }
        } finally {
          this.core.messages.readerDone();
        }
        if (s.inflight >= SEND_WINDOW) {
          await chain.tail;
          await s.inflightBelow(SEND_WINDOW);
        }
      }
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.core.log.warn("conn.protocol", { addr: s.addr, code: e.code });
        s.fail(undefined, e.code, e.message);
        this.#close(s, e.code, e.message);
      } else if (s.state !== "closed") this.core.log.debug("conn.error", { addr: s.addr, error: String(e) });
    }
    await chain.tail?.catch(() => {});
    this.#close(s, "closed", "Connection closed", undefined, false);
  }

  /**
   * Checks a request's state, rate and role and runs its handler: at once, a promise only when
   * something waits (an admin's role on a cluster, a handler that awaits). Never rejects: a
   * handler's failure is logged and answered.
   */
  #dispatch(s: Session, m: Exclude<Inbound, { t: "pong" }>, body: Uint8Array): void | Promise<void> {
    if (s.state === "closed") return;
    const cmd = this.#table[m.t as RequestKind];
    if (s.state === "hello" && cmd.auth !== "hello") {
      return s.fail(m.id, ErrorCode.HelloFirst, "Send hello first");
    }
    if (cmd.auth === "hello" && s.state !== "hello") {
      return s.fail(m.id, ErrorCode.Invalid, "Hello was already sent");
    }
    if ((cmd.auth === "user" || cmd.auth === "admin") && s.state !== "ready") {
      return s.fail(m.id, ErrorCode.NotAuthenticated, "Log in first");
    }
    // deno-lint-ignore no-explicit-any
    if (!cmd.free && !s.bucket.take(cmd.cost?.(m as any) ?? 1)) {
      return s.fail(m.id, ErrorCode.RateLimited, "You are sending too fast; slow down");
    }
    try {
      // deno-lint-ignore no-explicit-any
      const r = cmd.auth === "admin" ? this.#asAdmin(s, m, body) : cmd.run(this.core, s, m as any, body);
      if (r) return this.#caught(r, s, m);
    } catch (e) {
      this.#failed(s, m, e);
    }
  }

  /** `r`, its failure answered (apart from `#dispatch`: ARCHITECTURE.md rule 9). */
  #caught(r: Promise<void>, s: Session, m: Exclude<Inbound, { t: "pong" }>): Promise<void> {
    return r.catch((e) => this.#failed(s, m, e));
  }

  /** An admin command: run when `s` is an admin, else refused and audited. */
  async #asAdmin(s: Session, m: Exclude<Inbound, { t: "pong" }>, body: Uint8Array): Promise<void> {
    if (!await this.#isAdmin(s)) {
      this.core.log.warn("denied", { user: s.user, addr: s.addr, command: m.t });
      // One audit row per (user, command, window), counting the repeats.
      const now = this.clock.now();
      const a = { at: now, actor: s.user, action: "denied", target: m.t, detail: s.addr };
      await this.core.store.auditRepeat(a, now - now % DENIED_WINDOW_MS);
      return s.fail(m.id, ErrorCode.Forbidden, "Only admins can do that");
    }
    // deno-lint-ignore no-explicit-any
    await this.#table[m.t as RequestKind].run(this.core, s, m as any, body);
  }

  /** A handler failed: its store out of reach (`unavailable`, to try again), else a bug; logged, answered. */
  #failed(s: Session, m: { t: string; id?: number }, e: unknown): void {
    handlerFailed(this.core, s, m.t, m.id, e);
  }

  /**
   * Whether `s` may run an admin command. The role is read from the store (the truth), not only from
   * the session: a demotion made beside this server (`parley-server admin revoke` while it runs) or
   * on another node (its bus event comes a moment later) must already refuse the next admin command.
   * Demoted so, the user's sessions here are told (their clients lock admin commands).
   */
  async #isAdmin(s: Session): Promise<boolean> {
    if (s.role !== "admin") return false;
    if ((await this.core.store.getUser(s.user))?.role === "admin") return true;
    for (const x of this.hub.sessionsOf(s.user)) {
      if (x.role !== "admin") continue;
      x.role = "user";
      x.send({ t: "role", role: "user" });
    }
    return false;
  }

  #tick(): void {
    const now = this.clock.now();
    for (const s of this.hub.sessions) s.checkLiveness(now, this.config);
    if (now - this.#sweptAt >= SWEEP_MS) {
      this.#sweptAt = now;
      this.files.sweep().catch((e) => this.core.log.warn("files.sweep", { error: String(e) }));
    }
  }
  #sweptAt = 0;

  /** Sends `bye` (unless the link is gone), closes the socket and updates presence. */
  #close(s: Session, code: string, reason: string, until?: number, sayBye = true): void {
    if (s.state === "closed") return;
    const wasReady = s.state === "ready";
    s.state = "closed";
    const conn = this.#conns.get(s);
    this.#conns.delete(s);
    const last = this.hub.remove(s);
    this.relay.closeSession(s);
    void this.video.closeSession(s); // kills its ffmpeg now; close() awaits any still stopping
    if (sayBye && !s.outbox.closed) {
      s.send(until === undefined ? { t: "bye", code, reason } : { t: "bye", code, reason, until });
      const t = setTimeout(() => s.outbox.close(), 2000);
      s.outbox.drained().finally(() => {
        clearTimeout(t);
        s.outbox.close();
        try {
          conn?.close();
        } catch { /* already closed */ }
      });
    } else {
      s.outbox.close();
      try {
        conn?.close();
      } catch { /* already closed */ }
    }
    this.core.log.info("conn.close", { user: s.user || undefined, addr: s.addr, code });
    if (wasReady && last) this.hub.presence({ user: s.user, online: false });
  }

  /**
   * Settles once session `s`'s connection is read no more and every request it sent has run (at once
   * when it is gone already). Its session may leave the hub before that (a write that failed closes it):
   * only then can nothing more of it land.
   */
  requestsDone(s: Session): Promise<void> {
    return this.#readers.get(s) ?? Promise.resolve();
  }

  /** The gauges of `--metrics`, read at each scrape. */
  snapshot(): MetricsSnapshot {
    const outboxBytes: number[] = [];
    let loggedIn = 0;
    for (const s of this.hub.sessions) {
      outboxBytes.push(s.outbox.bytes);
      if (s.state === "ready") loggedIn++;
    }
    return {
      connections: this.hub.sessions.size,
      loggedIn,
      outboxBytes,
      files: this.files.countAll(),
      fileBytes: this.files.usedAll(),
      videoViewers: this.video.streams,
      ...(this.cluster ? { clusterNodes: this.cluster.remoteNodes } : {}),
    };
  }

  /** What a shutdown under way waits for now (logged when launch.ts's stop bound cuts it short). */
  get shutdownStep(): string | null {
    return this.#closingStep;
  }

  /** Graceful shutdown: stop accepting, tell clients, drain, close the store. */
  shutdown(reason = "The server is shutting down"): Promise<void> {
    const step = (name: string) => void (this.#closingStep = name);
    this.#closing ??= (async () => {
      this.core.log.info("shutdown", { sessions: this.hub.sessions.size });
      try {
        this.#listener?.close();
      } catch { /* already closed */ }
      if (this.#ticker !== null) clearInterval(this.#ticker);
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      if (this.#expirer !== null) clearInterval(this.#expirer);
      if (this.#trimmer !== null) clearInterval(this.#trimmer);
      step("video close");
      await this.video.close();
      step("message log close (the last batch's commit)");
      await this.core.messages.close();
      const drains = [...this.hub.sessions].map((s) => s.outbox.drained());
      for (const s of [...this.hub.sessions]) this.#close(s, ErrorCode.Shutdown, reason);
      step("client outboxes drained");
      await Promise.race([
        Promise.all(drains),
        new Promise((r) => setTimeout(r, this.config.shutdownGraceMs)),
      ]);
      for (const [s, c] of this.#conns) {
        s.outbox.close();
        try {
          c.close();
        } catch { /* gone */ }
      }
      step("connection readers");
      await Promise.allSettled([...this.#readers.values()]);
      this.hub.close();
      step("cluster close (bus)");
      await this.cluster?.close();
      this.#hasher.close?.();
      step("files close");
      await this.files.close();
      step("store close");
      await this.deps.store.close();
      step("done");
      this.core.log.info("shutdown.done", {});
    })();
    return this.#closing;
  }
}
