/**
 * The IRC face's listener (issue 72), one of the files rule 2 lets touch sockets: plain TCP on a
 * loopback address, TLS on any other (mod.ts refuses one without), each connection read into codec.ts's LineReader and
 * handed line by line to its conn.ts state machine — the next line is read only once the last is
 * handled, so a flood waits in the socket, in order. Writes go out in order; a client that does not
 * read past WRITE_MAX bytes is dropped. A bug while handling a line ends that connection, not the face.
 */
import { LineReader } from "./codec.ts";
import { IrcConn } from "./conn.ts";
import type { IrcFace } from "./face.ts";

/** Bytes written but not yet taken by a client before it is dropped. */
const WRITE_MAX = 4 << 20;

export interface IrcListener {
  readonly port: number;
  /** Stops accepting and closes every connection. */
  close(): void;
}

/** Listens on `hostname:port` (0: any free port) for `face`; `log` hears the bugs that end a connection. */
export function listenIrc(
  face: IrcFace,
  hostname: string,
  port: number,
  log: (line: string) => void,
  tls?: { cert: string; key: string },
): IrcListener {
  const l: Deno.Listener = tls
    ? Deno.listenTls({ hostname, port, transport: "tcp", cert: tls.cert, key: tls.key })
    : Deno.listen({ hostname, port, transport: "tcp" });
  const open = new Set<Deno.Conn>();
  void (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await l.accept();
      } catch {
        return; // closed
      }
      open.add(conn);
      void serve(face, conn, log).finally(() => open.delete(conn));
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    close() {
      l.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
    },
  };
}

async function serve(face: IrcFace, conn: Deno.Conn, log: (line: string) => void): Promise<void> {
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
  const buf = new Uint8Array(16 << 10);
  try {
    for (;;) {
      const n = await conn.read(buf); // not conn.readable: leaving its loop would close the socket before ERROR is out
      if (n === null) break;
      for (const l of reader.push(buf.subarray(0, n))) {
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
    if (!irc.closed) {
      irc.closed = true;
      face.detach(irc);
    }
    close();
  }
}
