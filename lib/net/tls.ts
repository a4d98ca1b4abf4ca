/**
 * Client sockets (with tls_server.ts, the only files that open sockets): the pinned TLS 1.3 connect,
 * a first-contact probe that reads the server's certificate without trusting it (node:tls) so the
 * user can decide, and `NodeConn`, the pull-read byte stream over a node:tls socket both sides use.
 */
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { derToPem } from "./cert.ts";

/**
 * Connects over TLS 1.3 trusting only `caPem`, the pinned certificate: node:tls's `ca` replaces the
 * default roots (Deno.connectTls's `caCerts` only adds to them, so any publicly trusted certificate
 * for the host would pass), and the leaf's SHA-256 must equal the pin's before anything is sent.
 */
export function connectTls(o: { host: string; port: number; caPem: string }): Promise<ServerConn> {
  const pinned = new X509Certificate(o.caPem).fingerprint256;
  return new Promise((resolve, reject) => {
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
export function probeCertificate(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
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
  /** Resolves when the bytes were handed to the socket. */
  write(b: Uint8Array): Promise<number>;
  close(): void;
}

/** Reading side of a node socket as pulled pieces, paused while `HIGH` bytes wait unread. */
export class NodeConn implements ServerConn {
  static readonly HIGH = 256 * 1024;
  readonly remoteAddr: { hostname: string; port: number };
  readonly localHost: string;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(
    readonly s: tls.TLSSocket,
    raw: { remoteAddress?: string; remotePort?: number },
    localHost?: string,
  ) {
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

  async readChunk(): Promise<Uint8Array | null> {
    while (!this.#chunks.length) {
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
    const c = this.#chunks.shift()!;
    this.#buffered -= c.length;
    if (this.#buffered < NodeConn.HIGH && this.s.isPaused()) this.s.resume();
    return c;
  }

  write(b: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.s.destroyed) return reject(new Error("Connection closed"));
      this.s.write(b, (err) => (err ? reject(err) : resolve(b.length)));
    });
  }

  close(): void {
    this.s.destroy();
  }
}
