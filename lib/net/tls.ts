/**
 * Client sockets (with tls_server.ts, the only files that open sockets): the pinned TLS 1.3 connect,
 * a first-contact probe that reads the server's certificate without trusting it (node:tls) so the
 * user can decide, `NodeConn`, the pull-read byte stream over a node:tls socket both sides use, and
 * `DenoConn`, the client's stream over Deno's own TLS (issue 36: reads land in buffers the reader
 * chooses, so a bulk download leaves no garbage per byte).
 */
import { X509Certificate } from "node:crypto";
import type * as tls from "node:tls";
import { derToPem } from "./cert.ts";

/**
 * node:tls loads when a connection needs it (the fallback connect, the first-contact probe): its
 * socket and stream layers are CPU at every client command's start that Deno's own TLS does not need.
 */
const nodeTls = () => import("node:tls");

/**
 * Connects trusting only `caPem`, the pinned certificate: the leaf's SHA-256 must equal the pin's
 * before anything is sent. Deno's own TLS first (TCP with Nagle off, then the handshake; its
 * `caCerts` only adds to the default roots, and the pin replaces the host name check, so the leaf
 * is compared with the pin itself); when this runtime cannot show the peer's certificate, node:tls
 * (`ca` replaces the default roots, the same leaf check in `checkServerIdentity`).
 */
export async function connectTls(o: { host: string; port: number; caPem: string }): Promise<ServerConn> {
  const pinned = new X509Certificate(o.caPem).fingerprint256;
  const tcp = await Deno.connect({ hostname: o.host, port: o.port });
  let c: Deno.TlsConn;
  try {
    tcp.setNoDelay(true);
    c = await Deno.startTls(tcp, {
      hostname: o.host.replace(/^\[(.*)\]$/, "$1"),
      caCerts: [o.caPem],
      unsafelyDisableHostnameVerification: true,
    });
  } catch (e) {
    closeQuietly(tcp);
    throw e;
  }
  let leaf: Uint8Array | null | undefined;
  try {
    await c.handshake();
    leaf = peerCertificate(c);
  } catch (e) {
    closeQuietly(c);
    throw e;
  }
  if (leaf === undefined) { // this runtime does not show it: node:tls checks the pin instead
    closeQuietly(c);
    return nodeConnectTls(o, pinned);
  }
  if (!leaf || new X509Certificate(leaf).fingerprint256 !== pinned) {
    closeQuietly(c);
    throw new Error("the certificate is not the pinned one");
  }
  return new DenoConn(c);
}

/**
 * The DER of the certificate a Deno TLS connection's peer presented; null when it presented none,
 * undefined when the runtime does not say (the method Deno's node:tls reads it with is not there).
 */
function peerCertificate(c: Deno.TlsConn): Uint8Array | null | undefined {
  const proto = Object.getPrototypeOf(c) as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(proto).find((s) => s.description === "getPeerCertificate");
  const get = key === undefined ? undefined : proto[key];
  if (typeof get !== "function") return undefined;
  const cert = get.call(c, true) as { raw?: unknown } | null;
  if (cert === null) return null;
  return cert.raw instanceof Uint8Array ? cert.raw : undefined;
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

async function nodeConnectTls(
  o: { host: string; port: number; caPem: string },
  pinned: string,
): Promise<ServerConn> {
  const tls = await nodeTls();
  return await new Promise((resolve, reject) => {
    const s = tls.connect({
      host: o.host,
      port: o.port,
      ca: [o.caPem],
      minVersion: "TLSv1.3",
      servername: /^[\d.:]+$/.test(o.host) ? undefined : o.host,
      // The pin replaces the host name check: the leaf must be the pinned certificate itself.
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === pinned ? undefined : new Error("the certificate is not the pinned one"),
    });
    s.once("secureConnect", () => {
      s.off("error", reject);
      resolve(new NodeConn(s, s));
    });
    s.once("error", (e) => {
      s.destroy();
      reject(e);
    });
  });
}

/** Reads the server's certificate without verifying it. Returns its PEM. */
export async function probeCertificate(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  const tls = await nodeTls();
  return await new Promise((resolve, reject) => {
    const s = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      servername: /^[\d.:]+$/.test(host) ? undefined : host,
    });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`Timed out reaching ${host}:${port}`));
    }, timeoutMs);
    s.once("secureConnect", () => {
      clearTimeout(t);
      const c = s.getPeerCertificate(true);
      s.end();
      s.destroy();
      if (!c || !c.raw) reject(new Error("The server sent no certificate"));
      else resolve(derToPem(new Uint8Array(c.raw)));
    });
    s.once("error", (e) => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    });
  });
}

/** A connected byte stream (the part of Deno.Conn Parley uses), over a node:tls socket. */
export interface ServerConn {
  readonly remoteAddr: { hostname: string; port: number };
  /** This end's address (the interface that reaches the other end), "" when unknown. */
  readonly localHost: string;
  /** The next received piece itself (no copy; the caller owns it); null at end of stream. */
  readChunk(): Promise<Uint8Array | null>;
  /** Where it can: reads into `b` (a buffer the caller chose); the bytes read, null at end of stream. */
  readInto?(b: Uint8Array): Promise<number | null>;
  /** Resolves when the bytes were handed to the socket. */
  write(b: Uint8Array): Promise<number>;
  /** Where it can: `write` with a callback, no promise (`done` once handed on, or with the error). */
  writeThen?(b: Uint8Array, done: (err?: unknown) => void): void;
  close(): void;
}

/** The native handle under a node:tls socket (private in Node and Deno alike; TLSWrap). */
interface NativeStream {
  /** Queues `b` (0: taken; else a negative error code, and `req.oncomplete` is never called). */
  writeBuffer(req: WriteReq, b: Uint8Array): number;
}

/** One native write: the handle calls `oncomplete(status)` on it once it ended. */
interface WriteReq {
  handle: NativeStream;
  oncomplete: (this: WriteReq, status: number) => void;
  done: ((err?: unknown) => void) | null;
  conn: NodeConn;
}

/** Reading side of a node socket as pulled pieces, paused while `HIGH` bytes wait unread. */
export class NodeConn implements ServerConn {
  static readonly HIGH = 256 * 1024;
  /** Writes of this many bytes or more go through node:tls's `write` (see `writeThen`). */
  static readonly NATIVE_MAX = 64 * 1024;
  readonly remoteAddr: { hostname: string; port: number };
  readonly localHost: string;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #wake: (() => void) | null = null;
  /** The native write handed on and not yet ended, and the writes queued behind it. */
  #inflight: WriteReq | null = null;
  #later: { b: Uint8Array; done: (err?: unknown) => void }[] = [];
  /**
   * The request of every native write: one is in flight at a time, so one object serves them all
   * (issue 37, A-paced: a room's fan-out is a write per member).
   */
  readonly #req: WriteReq;

  constructor(
    readonly s: tls.TLSSocket,
    raw: { remoteAddress?: string; remotePort?: number },
    localHost?: string,
  ) {
    this.#req = {
      handle: null as unknown as NativeStream,
      oncomplete: NodeConn.written,
      done: null,
      conn: this,
    };
    this.remoteAddr = { hostname: raw.remoteAddress ?? "?", port: raw.remotePort ?? 0 };
    this.localHost = localHost ?? s.localAddress ?? "";
    s.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#buffered += d.length;
      if (this.#buffered >= NodeConn.HIGH) s.pause();
      this.#notify();
    });
    const end = () => {
      this.#ended = true;
      this.#notify();
    };
    s.on("end", end);
    s.on("close", end);
    s.on("error", end);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  // Not an async function: a read waiting on an idle connection holds one promise, no suspended frame.
  readChunk(): Promise<Uint8Array | null> {
    if (this.#chunks.length || this.#ended) return Promise.resolve(this.#take());
    return this.#waitChunk();
  }

  /** The next piece once one comes (`#notify`); apart from `readChunk`, whose usual path makes no closure. */
  #waitChunk(): Promise<Uint8Array | null> {
    return new Promise((r) => (this.#wake = () => r(this.#take())));
  }

  /** The next piece, null when none is left (the stream ended). */
  #take(): Uint8Array | null {
    const c = this.#chunks.shift();
    if (c === undefined) return null;
    this.#buffered -= c.length;
    if (this.#buffered < NodeConn.HIGH && this.s.isPaused()) this.s.resume();
    return c;
  }

  write(b: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) =>
      this.writeThen(b, (err) => (err ? reject(err) : resolve(b.length)))
    );
  }

  /**
   * All of `b` to the socket; `done` once node:tls took it (no promise), or with the error. Straight
   * to the socket's native TLS handle when it has one (`writeBuffer`, where node:stream's own write
   * ends; issue 37, A-paced: a room's fan-out is one small write per member, and the stream's
   * bookkeeping cost ~1 µs of each ~8); else node:tls's `write`. One native write at a time (the
   * handle tells only its last one when several wait): the others queue behind it, in order.
   */
  writeThen(b: Uint8Array, done: (err?: unknown) => void): void {
    const h = (this.s as unknown as { _handle?: NativeStream | null })._handle;
    if (this.s.destroyed) NodeConn.#closedLater(done);
    else if (typeof h?.writeBuffer !== "function") this.s.write(b, done);
    else if (this.#inflight) this.#later.push({ b, done });
    else {
      const req = this.#req;
      req.handle = h;
      req.done = done;
      if (b.length >= NodeConn.NATIVE_MAX) {
        // A big piece (a file's download) through node:tls's write: native writes of them cost the
        // relayed download more server CPU (files_ab.ts). Still one at a time: later writes wait.
        this.#inflight = req;
        this.s.write(b, NodeConn.#viaStream(req));
        return;
      }
      const status = h.writeBuffer(req, b); // encrypted (copied) now; oncomplete comes later, always
      if (status === 0) this.#inflight = req;
      else {
        req.done = null; // never completed: nothing may be told through it
        this.#failLater(done, status);
      }
    }
  }

  // `writeThen`'s rare paths, apart (no closure on a hot path: ARCHITECTURE.md rule 9).
  static #closedLater(done: (err?: unknown) => void): void {
    queueMicrotask(() => done(new Error("Connection closed")));
  }
  static #viaStream(req: WriteReq): (err?: Error | null) => void {
    return (err) => NodeConn.written.call(req, err ? -1 : 0);
  }
  #failLater(done: (err?: unknown) => void, status: number): void {
    queueMicrotask(() => this.#fail(done, status));
  }

  /** The native write in flight ended (`status` < 0: failed, e.g. cancelled by close): told once; the next one. */
  static written(this: WriteReq, status: number): void {
    const c = this.conn, done = this.done;
    if (!done || c.#inflight !== this) return;
    this.done = null;
    c.#inflight = null;
    if (status < 0) return c.#fail(done, status);
    const next = c.#later.shift(); // before `done`, which may write again (after the queued ones)
    if (next) c.writeThen(next.b, next.done);
    done();
  }

  /** `done` and every write queued behind it fail (the connection is gone). */
  #fail(done: (err?: unknown) => void, status: number): void {
    const later = this.#later;
    this.#later = [];
    const err = new Error(`Connection closed (write: ${status})`);
    done(err);
    for (const w of later) w.done(err);
  }

  close(): void {
    this.s.destroy();
  }
}

/** The client's stream over a Deno TLS connection: reads go into the caller's buffer (`readInto`). */
export class DenoConn implements ServerConn {
  /** Longest piece `readChunk` returns (it reads here, then copies what came into a buffer of its own). */
  static readonly PIECE = 64 * 1024;
  readonly remoteAddr: { hostname: string; port: number };
  readonly localHost: string;
  readonly #scratch = new Uint8Array(DenoConn.PIECE);

  constructor(readonly c: Deno.TlsConn) {
    this.remoteAddr = { hostname: c.remoteAddr.hostname, port: c.remoteAddr.port };
    this.localHost = c.localAddr.hostname;
  }

  async readChunk(): Promise<Uint8Array | null> {
    const n = await this.readInto(this.#scratch);
    return n === null ? null : this.#scratch.slice(0, n); // exactly the bytes read, its own buffer
  }

  async readInto(b: Uint8Array): Promise<number | null> {
    try {
      return await this.c.read(b);
    } catch {
      return null; // reset or closed here: the end of the stream, as NodeConn reports it
    }
  }

  write(b: Uint8Array): Promise<number> {
    return this.c.write(b);
  }

  close(): void {
    closeQuietly(this.c);
  }
}
