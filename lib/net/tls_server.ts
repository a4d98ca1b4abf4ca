/**
 * The server's TLS listener (a named socket file, with tls.ts). Accepts TCP first (node:net), so
 * that every connection is counted and can be refused before TLS starts, sets TCP_NODELAY, and runs
 * the TLS 1.3 server handshake (node:tls on the accepted socket) under a deadline: a socket that
 * never completes it is closed, its file descriptor released. (Deno.listenTls keeps the descriptor
 * of a connection whose handshake never starts until the peer goes away, even after close().)
 * node:tls on node:net's own socket costs less per connection than on a Deno connection wrapped in
 * a JS stream (issue 37: 2,000 idle TLS logins, server CPU and memory per connection, see the
 * CHANGELOG); Deno 2.9.6's node:net stops accepting for good after one EMFILE, so the listener is
 * armed again every `REARM_MS`.
 *
 * Contract: `admit(addr)` is asked at TCP accept and may close the socket at once. Handshakes in
 * progress are counted per address (`pendingFrom`) so callers can count them against their caps.
 * Each connection that completes the handshake is handed to `onConn` as a `ServerConn` (read /
 * write / close, the subset of Deno.Conn the server uses). Running out of descriptors (EMFILE,
 * ENFILE) is reported through `onError` (once per run of failures) and `strained` is true for a
 * while after it; the listener keeps serving. `acceptLoop` (Deno.listen, backing off on EMFILE) is
 * the peer listener's.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { NodeConn, type ServerConn } from "./tls.ts";
import { tlsKeyPem } from "./cert.ts";

export type { ServerConn };

export interface TlsServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** Time allowed from TCP accept to a completed TLS handshake. */
  handshakeMs: number;
  /**
   * Asked at TCP accept. "accept": handshake, then `onConn`; "refuse": handshake (under the same
   * deadline and counted the same), then `onRefused`, so the peer can be told why in a frame;
   * "drop": closed at once, before any TLS.
   */
  admit: (addr: string) => "accept" | "refuse" | "drop";
  onConn: (c: ServerConn) => void;
  onRefused: (c: ServerConn) => void;
  onError?: (what: string, e: unknown) => void;
}

export interface TlsServer {
  readonly port: number;
  /** Handshakes in progress from this address ("host", without the port). */
  pendingFrom(host: string): number;
  /** Handshakes in progress in all. */
  readonly pending: number;
  /** The process ran out of descriptors (a probe failed) in the last `STRAIN_MS`: spare every descriptor. */
  readonly strained: boolean;
  close(): Promise<void>;
}

/** How long after running out of descriptors a listener counts as strained, ms. */
export const STRAIN_MS = 5000;
/** Longest pause between accept attempts while they fail, ms. */
const MAX_BACKOFF_MS = 500;

/**
 * Accepts until `ln` is closed. A failed accept (EMFILE, ENFILE, ECONNABORTED…) does not end the
 * loop: it is reported once per run of failures, then retried after a pause doubling from 5 ms to
 * `MAX_BACKOFF_MS` (the connections waiting in the kernel's backlog are accepted once descriptors
 * are free again). Resolves once the listener is closed.
 */
export async function acceptLoop(
  ln: Deno.Listener<Deno.TcpConn>,
  serve: (c: Deno.TcpConn) => void,
  o: {
    closed: () => boolean;
    /** Each failed accept, with its number in the current run of failures (1 for the first). */
    onError?: (e: unknown, run: number) => void;
    onRecover?: (failures: number) => void;
  },
): Promise<void> {
  let pause = 0;
  let failures = 0;
  while (!o.closed()) {
    let c: Deno.TcpConn;
    try {
      c = await ln.accept();
    } catch (e) {
      if (o.closed() || e instanceof Deno.errors.BadResource) return;
      o.onError?.(e, ++failures);
      pause = Math.min(MAX_BACKOFF_MS, pause ? pause * 2 : 5);
      await new Promise((r) => setTimeout(r, pause));
      continue;
    }
    if (failures) o.onRecover?.(failures);
    pause = failures = 0;
    serve(c);
  }
}

/**
 * How often the listener is armed again, ms: Deno 2.9.6's node:net drops a failed accept (EMFILE)
 * without a word and stops polling its listener for good (libs/core/uv_compat/tcp.rs: only a ready
 * accept re-registers it); listen() on the listening handle marks it ready again, and the
 * connections waiting in the kernel's backlog are accepted once descriptors are free. Each tick
 * also opens and closes one socket: when that fails, the process is out of descriptors (reported
 * once per run of failures, `strained`).
 */
export const REARM_MS = 500;

/** node:net's listening handle (private in Node and Deno alike): listen() again re-arms it. */
type Rearmable = { _handle?: { listen(backlog: number): number } | null };

/** Opens and closes one loopback socket: the error when the process is out of descriptors, else null. */
function probeDescriptor(): unknown {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" }).close();
    return null;
  } catch (e) {
    return /os error 2[34]\b|Too many open files/.test(String(e)) ? e : null; // EMFILE, ENFILE
  }
}

/** One handshake in progress: its raw socket and its deadline. */
type Handshake = { raw: net.Socket; timer: ReturnType<typeof setTimeout> };

/** Owns the handshakes in progress: counted per address and in all, each under its deadline. */
class Handshakes {
  readonly #perHost = new Map<string, number>();
  readonly #open = new Set<Handshake>();
  total = 0;

  pendingFrom(host: string): number {
    return this.#perHost.get(host) ?? 0;
  }

  /**
   * Counts a handshake from `host` whose deadline (`ms`) calls `expired`; returns its finish: true
   * the first time (the count released, the deadline cleared), false after.
   */
  start(raw: net.Socket, host: string, ms: number, expired: () => void): () => boolean {
    this.#perHost.set(host, this.pendingFrom(host) + 1);
    this.total++;
    let entry: Handshake | null = { raw, timer: setTimeout(expired, ms) };
    this.#open.add(entry);
    return () => {
      if (!entry) return false;
      clearTimeout(entry.timer);
      this.#open.delete(entry);
      entry = null;
      const n = this.pendingFrom(host) - 1;
      if (n > 0) this.#perHost.set(host, n);
      else this.#perHost.delete(host);
      this.total--;
      return true;
    };
  }

  /** Ends every handshake in progress (the listener closes). */
  closeAll(): void {
    for (const h of this.#open) {
      clearTimeout(h.timer);
      h.raw.destroy();
    }
    this.#open.clear();
  }
}

/** Owns the descriptor probe's state: failures in the current run and when the last one was. */
class DescriptorWatch {
  #failedAt = -Infinity;
  #failures = 0;

  constructor(readonly onError?: (what: string, e: unknown) => void) {}

  get strained(): boolean {
    return performance.now() - this.#failedAt < STRAIN_MS;
  }

  /** Arms `srv` again and probes for a free descriptor (every REARM_MS). */
  tick(srv: net.Server): void {
    (srv as unknown as Rearmable)._handle?.listen(511);
    const e = probeDescriptor();
    if (e) {
      this.#failedAt = performance.now();
      if (++this.#failures === 1) this.onError?.("accept", e); // once per run of failures
    } else if (this.#failures) {
      this.onError?.("accept.recovered", `accepting again after ${this.#failures} failed probes`);
      this.#failures = 0;
    }
  }
}

/** Runs one accepted socket through admission and the TLS handshake under its deadline. */
function serveSocket(raw: net.Socket, o: TlsServerOptions, ctx: tls.SecureContext, hs: Handshakes): void {
  const host = raw.remoteAddress ?? "?";
  const port = raw.remotePort ?? 0;
  const verdict = o.admit(`${host}:${port}`);
  if (verdict === "drop") return void raw.destroy();
  raw.setNoDelay(true);
  const finish = hs.start(raw, host, o.handshakeMs, () => {
    if (finish()) s.destroy(); // never finished the handshake: release the descriptor now
  });
  const s = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
  s.on("secure", () => {
    if (!finish()) return;
    const c = new NodeConn(s, { remoteAddress: host, remotePort: port }, raw.localAddress);
    if (verdict === "accept") o.onConn(c);
    else o.onRefused(c);
  });
  s.on("error", () => {
    finish();
    s.destroy();
  });
  // The peer closed: close this end too (no half-open connections), releasing the descriptor
  // even if the owner never calls close(). Data received before is still read from NodeConn.
  s.on("end", () => s.destroy());
  s.on("close", () => {
    finish();
    raw.destroy();
  });
  // The peer went away before finishing its handshake: release the descriptor now.
  raw.on("close", () => {
    if (finish()) s.destroy();
  });
}

/** Starts listening; resolves once the port is bound. */
export function listenTlsServer(o: TlsServerOptions): Promise<TlsServer> {
  const ctx = tls.createSecureContext({ key: tlsKeyPem(o.key), cert: o.cert, minVersion: "TLSv1.3" });
  const hs = new Handshakes();
  const watch = new DescriptorWatch(o.onError);
  const srv = net.createServer({ pauseOnConnect: false }, (raw) => serveSocket(raw, o, ctx, hs));
  let rearm: ReturnType<typeof setInterval> | undefined;
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(o.port, o.host, () => {
      srv.off("error", reject);
      srv.on("error", (e) => o.onError?.("listen", e));
      rearm = setInterval(() => watch.tick(srv), REARM_MS);
      Deno.unrefTimer(rearm);
      resolve({
        port: (srv.address() as net.AddressInfo).port,
        pendingFrom: (h) => hs.pendingFrom(h),
        get pending() {
          return hs.total;
        },
        get strained() {
          return watch.strained;
        },
        // Stops accepting at once; connections already open are the caller's to close.
        close: () => {
          clearInterval(rearm);
          srv.close();
          hs.closeAll();
          return Promise.resolve();
        },
      });
    });
  });
}
