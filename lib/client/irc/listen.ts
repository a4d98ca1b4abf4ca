/**
 * The IRC face's listener (issue 72), one of the files rule 2 lets touch sockets: plain TCP on a
 * loopback address, TLS on any other (mod.ts refuses one without; through lib/net/tls_server.ts, whose
 * handshakes run under a deadline), each connection read into codec.ts's LineReader and handed line by
 * line to its conn.ts state machine — the next line is read only once the last is handled, so a flood
 * waits in the socket, in order. Writes go out in order; a client that does not read past WRITE_MAX bytes
 * is dropped. At most MAX_CONNS connections at once (one more is told so and closed), and one that has not
 * registered within REGISTER_MS is closed. A bug while handling a line ends that connection, not the face.
 */
import { listenTlsServer, type ServerConn } from "../../net/tls_server.ts";
import { LineReader } from "./codec.ts";
import { IrcConn } from "./conn.ts";
import type { IrcFace } from "./face.ts";

/** Bytes written but not yet taken by a client before it is dropped. */
const WRITE_MAX = 4 << 20;
/** Connections open at once (registered or not). */
export const MAX_CONNS = 64;
/** How long a connection may take to register (PASS/NICK/USER or SASL), ms. */
export const REGISTER_MS = 30_000;
/** How long a TLS client may take to finish its handshake, ms. */
const HANDSHAKE_MS = 10_000;

export interface IrcListener {
  readonly port: number;
  /** Stops accepting and closes every connection. */
  close(): void;
}

/** What `serve` needs of a connection, plain or TLS. */
interface Link {
  readChunk(): Promise<Uint8Array | null>;
  write(b: Uint8Array): Promise<number>;
  close(): void;
}

/** A plain TCP connection as a `Link`. */
function plainLink(c: Deno.Conn): Link {
  const buf = new Uint8Array(16 << 10);
  return {
    readChunk: async () => {
      const n = await c.read(buf);
      return n === null ? null : buf.slice(0, n);
    },
    write: (b) => c.write(b),
    close: () => c.close(),
  };
}

/** The limits of one listener: `registerMs` (tests shorten it) and `maxConns`. */
export interface IrcLimits {
  /** How long a connection may take to register, ms (REGISTER_MS). */
  registerMs?: number;
  /** Connections open at once (MAX_CONNS). */
  maxConns?: number;
}

/** Listens on `hostname:port` (0: any free port) for `face`; `log` hears the bugs that end a connection. */
export async function listenIrc(
  face: IrcFace,
  hostname: string,
  port: number,
  log: (line: string) => void,
  tls?: { cert: string; key: string },
  limits: IrcLimits = {},
): Promise<IrcListener> {
  const open = new Set<Link>();
  const max = limits.maxConns ?? MAX_CONNS;
  const admit = (link: Link) => {
    if (open.size >= max) {
      void link.write(new TextEncoder().encode("ERROR :Too many connections to parley irc\r\n"))
        .catch(() => {}).finally(() => closeQuietly(link));
      return;
    }
    open.add(link);
    void serve(face, link, log, limits.registerMs ?? REGISTER_MS).finally(() => open.delete(link));
  };
  const closeAll = () => {
    for (const c of open) closeQuietly(c);
  };
  if (tls) {
    const srv = await listenTlsServer({
      host: hostname,
      port,
      cert: tls.cert,
      key: tls.key,
      handshakeMs: HANDSHAKE_MS,
      admit: () => "accept",
      onConn: (c: ServerConn) => admit(c),
      onRefused: (c: ServerConn) => c.close(),
    });
    return { port: srv.port, close: () => (void srv.close(), closeAll()) };
  }
  const l = Deno.listen({ hostname, port, transport: "tcp" });
  void (async () => {
    for (;;) {
      try {
        admit(plainLink(await l.accept()));
      } catch {
        return; // closed
      }
    }
  })();
  return { port: (l.addr as Deno.NetAddr).port, close: () => (l.close(), closeAll()) };
}

function closeQuietly(c: Link): void {
  try {
    c.close();
  } catch { /* closed already */ }
}

/** Runs one connection until it quits or fails; it is closed unless registered within `registerMs`. */
async function serve(
  face: IrcFace,
  conn: Link,
  log: (line: string) => void,
  registerMs: number,
): Promise<void> {
  const enc = new TextEncoder();
  let chain = Promise.resolve(), queued = 0, closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    void chain.finally(() => {
      try {
        conn.close();
      } catch { /* closed already */ }
    });
  };
  const irc = new IrcConn(face, {
    write(line) {
      if (closed) return;
      const b = enc.encode(line + "\r\n");
      queued += b.length;
      if (queued > WRITE_MAX) return void irc.close("Too slow: lines were not read");
      chain = chain.then(async () => {
        for (let o = 0; o < b.length;) o += await conn.write(b.subarray(o));
        queued -= b.length;
      }).catch(() => void close());
    },
    close,
  });
  const reader = new LineReader();
  const deadline = setTimeout(() => {
    if (!irc.registered) irc.close("Registration timed out");
  }, registerMs);
  try {
    for (;;) {
      const chunk = await conn.readChunk(); // not a readable stream: leaving its loop would close the socket before ERROR is out
      if (chunk === null) break;
      for (const l of reader.push(chunk)) {
        await irc.line("line" in l ? l.line : null);
        if (irc.closed) return;
      }
    }
  } catch (e) {
    if (
      !(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset ||
        e instanceof Deno.errors.Interrupted)
    ) {
      log(`parley irc: a connection ended on an error: ${e instanceof Error ? e.stack : String(e)}`);
      irc.close("Internal error; please report it");
    }
  } finally {
    clearTimeout(deadline);
    if (!irc.closed) {
      irc.closed = true;
      face.detach(irc);
    }
    close();
  }
}
