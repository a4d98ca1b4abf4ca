/**
 * The server's TLS listener (a named socket file, with tls.ts). Accepts TCP first (Deno.listen), so
 * that every connection is counted and can be refused before TLS starts, sets TCP_NODELAY, and runs
 * the TLS 1.3 server handshake (node:tls over the TCP connection) under a deadline: a socket that
 * never completes it is closed, its file descriptor released. (Deno.listenTls keeps the descriptor
 * of a connection whose handshake never starts until the peer goes away, even after close(); a
 * node:net server stops accepting for good after one EMFILE.)
 *
 * Contract: `admit(addr)` is asked at TCP accept and may close the socket at once. Handshakes in
 * progress are counted per address (`pendingFrom`) so callers can count them against their caps.
 * Each connection that completes the handshake is handed to `onConn` as a `ServerConn` (read /
 * write / close, the subset of Deno.Conn the server uses). Accept errors (EMFILE, ENFILE) are
 * reported through `onError` (once per run of failures) and `strained` is true for a while after
 * one; the accept loop backs off and keeps serving (`acceptLoop`, shared with the peer listener).
 */
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { release, writeAll } from "../common/bytes.ts";
import { NodeConn, type ServerConn } from "./tls.ts";

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
  /** An accept failed (out of descriptors) in the last `STRAIN_MS`: spare every descriptor. */
  readonly strained: boolean;
  close(): Promise<void>;
}

/** How long after a failed accept a listener counts as strained, ms. */
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
 * Read buffer of a new connection: an idle one holds only this much while its read waits (a
 * handshake and a chat's frames fit; 1 KiB instead of 4 KiB: 2,000 idle logged-in connections,
 * 66 → 60 KB each, the bare listener 51 → 48 KB).
 */
const READ_SMALL = 1024;
/** The next step after a read filled the small buffer (a ClientHello with post-quantum key shares is ~1.3 KB). */
const READ_MID = 4 * 1024;
/** Read buffer of a connection whose read once filled the middle one (bulk data: fewer, larger reads). */
const READ_LARGE = 64 * 1024;
/**
 * Read buffer while reads fill the large one (a file's upload: a quarter of the reads, node:tls's
 * pump turns a quarter as often; relayed 1 GiB, server CPU 5.2 → 4.6 s per GiB, medians of 4); back
 * to the large one after a read of less than READ_MID, so only a connection moving bulk data holds it.
 */
const READ_BULK = 256 * 1024;

/** The read buffer's next size after a read of `n` bytes into one of `size`. */
function nextReadSize(size: number, n: number): number {
  if (n === size) return size < READ_MID ? READ_MID : size < READ_LARGE ? READ_LARGE : READ_BULK;
  return size === READ_BULK && n < READ_MID ? READ_LARGE : size;
}

/**
 * A node stream over a Deno TCP connection, for node:tls to run its server side on. Its methods sit
 * on the prototype (no closures of its own per connection: an idle connection holds the stream).
 */
class TcpDuplex extends Duplex {
  #buf = new Uint8Array(READ_SMALL);
  #reading = false;

  constructor(readonly c: Deno.TcpConn) {
    super();
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.c.read(this.#buf).then((n) => this.#got(n), (e) => {
      this.#reading = false;
      this.destroy(e);
    });
  }

  #got(n: number | null): void {
    this.#reading = false;
    if (n === null) {
      this.push(null);
      return;
    }
    const size = nextReadSize(this.#buf.length, n);
    this.push(this.#buf.subarray(0, n)); // node asks for more (_read()) while its buffer has room
    // Taken at once (node:tls's stream copies what it is handed into its TLS state as it comes;
    // nothing left buffered): the buffer is read into again, no copy per read (issue 36); else the
    // stream keeps it and the next read gets a new one.
    if (this.readableLength !== 0 || size !== this.#buf.length) this.#buf = new Uint8Array(size);
  }

  override _write(chunk: Uint8Array, _enc: string, cb: (e?: Error | null) => void): void {
    writeAll(this.c, chunk).then(() => {
      release(chunk); // a TLS record node:tls made for this write alone: freed once written
      cb();
    }, (e) => cb(e));
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.c.closeWrite().then(() => cb(), () => cb());
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    try {
      this.c.close();
    } catch { /* already closed */ }
    cb(err);
  }
}

/** Starts listening; resolves once the port is bound. */
export function listenTlsServer(o: TlsServerOptions): Promise<TlsServer> {
  const ctx = tls.createSecureContext({ key: o.key, cert: o.cert, minVersion: "TLSv1.3" });
  const pending = new Map<string, number>();
  const handshaking = new Set<{ raw: Deno.TcpConn; timer: ReturnType<typeof setTimeout> }>();
  let total = 0;
  let closed = false;
  let failedAt = -Infinity;
  const dec = (host: string) => {
    const n = (pending.get(host) ?? 1) - 1;
    if (n > 0) pending.set(host, n);
    else pending.delete(host);
    total--;
  };
  const release = (raw: Deno.TcpConn) => {
    try {
      raw.close();
    } catch { /* already closed */ }
  };
  const serve = (raw: Deno.TcpConn) => {
    const { hostname: host, port } = raw.remoteAddr;
    const verdict = o.admit(`${host}:${port}`);
    if (verdict === "drop") return release(raw);
    try {
      raw.setNoDelay(true);
    } catch { /* reset already */ }
    pending.set(host, (pending.get(host) ?? 0) + 1);
    total++;
    // The handshake's entry while it runs; null once finished (its timer then no longer held).
    let entry: { raw: Deno.TcpConn; timer: ReturnType<typeof setTimeout> } | null = {
      raw,
      timer: setTimeout(() => {
        if (finish()) s.destroy(); // never finished the handshake: release the descriptor now
      }, o.handshakeMs),
    };
    const finish = () => {
      if (!entry) return false;
      clearTimeout(entry.timer);
      handshaking.delete(entry);
      entry = null;
      dec(host);
      return true;
    };
    handshaking.add(entry);
    const stream = new TcpDuplex(raw);
    const s = new tls.TLSSocket(stream, { isServer: true, secureContext: ctx });
    s.on("secure", () => {
      if (!finish()) return;
      const c = new NodeConn(s, { remoteAddress: host, remotePort: port }, raw.localAddr.hostname);
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
      stream.destroy();
    });
    // The peer went away before finishing its handshake: release the descriptor now (node:tls does
    // not close a server socket whose stream ends before the handshake).
    const gone = () => {
      if (finish()) s.destroy();
    };
    stream.on("end", gone);
    stream.on("close", gone);
  };
  let ln: Deno.Listener<Deno.TcpConn>;
  try {
    ln = Deno.listen({ hostname: o.host, port: o.port, transport: "tcp" });
  } catch (e) {
    return Promise.reject(e);
  }
  const loop = acceptLoop(ln, serve, {
    closed: () => closed,
    onError: (e, run) => {
      failedAt = performance.now();
      if (run === 1) o.onError?.("accept", e); // once per run of failures
    },
    onRecover: (n) => o.onError?.("accept.recovered", `accepting again after ${n} failed attempts`),
  });
  return Promise.resolve({
    port: (ln.addr as Deno.NetAddr).port,
    pendingFrom: (h) => pending.get(h) ?? 0,
    get pending() {
      return total;
    },
    get strained() {
      return performance.now() - failedAt < STRAIN_MS;
    },
    // Stops accepting at once; connections already open are the caller's to close.
    close: async () => {
      closed = true;
      try {
        ln.close();
      } catch { /* already closed */ }
      for (const h of [...handshaking]) {
        clearTimeout(h.timer);
        release(h.raw);
      }
      handshaking.clear();
      await loop;
    },
  });
}
