/**
 * The server's TLS listener (a named socket file, with tls.ts). Accepts TCP first (node:net), so
 * that every connection is counted and can be refused before TLS starts, sets TCP_NODELAY (Deno
 * 2.9.6's TlsConn cannot, and Nagle then delays small replies by a delayed ACK), and runs the TLS
 * 1.3 server handshake (node:tls) under a deadline: a socket that never completes it is destroyed,
 * its file descriptor released. (Deno.listenTls keeps the descriptor of a connection whose
 * handshake never starts until the peer goes away, even after close().)
 *
 * Contract: `admit(addr)` is asked at TCP accept and may close the socket at once. Handshakes in
 * progress are counted per address (`pendingFrom`) so callers can count them against their caps.
 * Each connection that completes the handshake is handed to `onConn` as a `ServerConn` (read /
 * write / close, the subset of Deno.Conn the server uses). Accept errors (EMFILE, ENFILE) are
 * reported through `onError`; the listener keeps serving.
 */
import * as net from "node:net";
import * as tls from "node:tls";
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
  close(): Promise<void>;
}

/** Starts listening; resolves once the port is bound. */
export function listenTlsServer(o: TlsServerOptions): Promise<TlsServer> {
  const ctx = tls.createSecureContext({ key: o.key, cert: o.cert, minVersion: "TLSv1.3" });
  const pending = new Map<string, number>();
  const handshaking = new Set<{ raw: net.Socket; timer: ReturnType<typeof setTimeout> }>();
  let total = 0;
  const dec = (host: string) => {
    const n = (pending.get(host) ?? 1) - 1;
    if (n > 0) pending.set(host, n);
    else pending.delete(host);
    total--;
  };
  const srv = net.createServer({ pauseOnConnect: false }, (raw) => {
    const host = raw.remoteAddress ?? "?";
    const verdict = o.admit(`${host}:${raw.remotePort ?? 0}`);
    if (verdict === "drop") {
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    pending.set(host, (pending.get(host) ?? 0) + 1);
    total++;
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      clearTimeout(entry.timer);
      handshaking.delete(entry);
      dec(host);
      return true;
    };
    const entry = {
      raw,
      timer: setTimeout(() => {
        if (finish()) raw.destroy(); // never finished the handshake: release the descriptor now
      }, o.handshakeMs),
    };
    handshaking.add(entry);
    const s = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
    s.once("secure", () => {
      if (!finish()) return;
      const c = new NodeConn(s, raw);
      if (verdict === "accept") o.onConn(c);
      else o.onRefused(c);
    });
    s.on("error", () => {
      finish();
      raw.destroy();
    });
    raw.on("close", () => finish());
  });
  srv.on("error", (e) => o.onError?.("listen", e));
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(o.port, o.host, () => {
      srv.off("error", reject);
      const port = (srv.address() as net.AddressInfo).port;
      resolve({
        port,
        pendingFrom: (h) => pending.get(h) ?? 0,
        get pending() {
          return total;
        },
        // Stops accepting at once; connections already open are the caller's to close.
        close: () => {
          srv.close();
          for (const h of [...handshaking]) {
            clearTimeout(h.timer);
            h.raw.destroy();
          }
          handshaking.clear();
          return Promise.resolve();
        },
      });
    });
  });
}
