/**
 * The runtime's floor under workload A-paced (issue 37): a server process with no chat code gives
 * each of 100 connections one 250-byte write every 5 ms, 600 times (what a room of 100 members gets
 * from 600 messages at 200/s, one write a member a message), and the bench reads that process's CPU
 * per write from /proc. Three ways:
 *   `node`  Parley's transport: lib/net/tls_server.ts's listener (node:net, TCP_NODELAY, node:tls)
 *           and NodeConn's write (the native handle's, as a room's fan-out writes);
 *   `deno`  Deno's own TLS (Deno.listenTls), which Parley's server does not take: its connections
 *           cannot turn Nagle off, and a socket whose handshake never starts keeps its descriptor;
 *   `tcp`   plain TCP with TCP_NODELAY: what the kernel and the runtime's op cost without TLS.
 * The server also reads how much of V8's old space its writes take (`old_space` from
 * getHeapSpaceStatistics at each round's start, over rounds with no collection between: objects made
 * there skip the young generation and wait for a mark-compact) and leaves it in FLOOR_FILE in its
 * folder. As a server (`paced_floor.ts CERT KEY serve WAY`, run by `pacedFloor`) it prints its port and
 * starts once each of its 100 connections has sent one byte.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { dirname } from "node:path";
import { listenTlsServer } from "../../lib/net/tls_server.ts";
import type { NodeConn } from "../../lib/net/tls.ts";
import { cpuMicros, phase, type Row, withRefServer } from "./proc.ts";

export type Way = "node" | "deno" | "tcp";
const FAN = 100, ROUNDS = 600, EVERY_MS = 5, BYTES = 250;
/** What the server writes its heap figures to, in its folder. */
const FLOOR_FILE = "floor.json";
const WHAT: Record<Way, string> = {
  node: "node:tls with TCP_NODELAY (Parley's transport)",
  deno: "Deno's own TLS (Nagle on)",
  tcp: "plain TCP with TCP_NODELAY",
};

/**
 * Parley's TLS listener (lib/net/tls_server.ts) as a reference server's: every connection accepted and
 * handed to `onConn` as the NodeConn the server's would be; prints the port (`withRefServer` reads it).
 */
export async function listenAsRef(cert: string, key: string, onConn: (c: NodeConn) => void): Promise<void> {
  const srv = await listenTlsServer({
    host: "127.0.0.1",
    port: 0,
    cert,
    key,
    handshakeMs: 30_000,
    admit: () => "accept",
    onConn: (c) => onConn(c as NodeConn),
    onRefused: (c) => c.close(),
  });
  console.log(srv.port);
}

/** Bytes in use in V8's old space and young generation now. */
function spaces(): { old: number; young: number } {
  let old = 0, young = 0;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === "old_space") old = s.space_used_size;
    else if (s.space_name === "new_space") young = s.space_used_size;
  }
  return { old, young };
}

/** The server side: connections as they come, the paced rounds once every one has said go. */
async function serve(way: Way, cert: string, key: string, out: string): Promise<void> {
  const writers: ((b: Uint8Array) => void)[] = [];
  let go = 0;
  const rounds = () => {
    const msg = new Uint8Array(BYTES).fill(0x61), t0 = performance.now();
    let r = 0, last = spaces(), grew = 0, kept = 0;
    const round = () => {
      const now = spaces(); // what the last round's writes (and their completions) left
      if (r > 0 && now.old >= last.old && now.young >= last.young) grew += now.old - last.old, kept++;
      last = now;
      if (r === ROUNDS) {
        return Deno.writeTextFileSync(
          out,
          JSON.stringify({ oldPerWrite: grew / (kept * writers.length), kept }),
        );
      }
      for (const w of writers) w(msg);
      r++;
      setTimeout(round, Math.max(0, t0 + r * EVERY_MS - performance.now()));
    };
    round();
  };
  /** Reads the connection's go byte, then drains it until it ends (`read`: null at its end). */
  const follow = async (read: () => Promise<unknown>) => {
    try {
      if ((await read()) !== null && ++go === FAN) rounds();
      while ((await read()) !== null);
    } catch { /* the bench closed it */ }
  };
  if (way === "node") {
    const done = () => {};
    return listenAsRef(cert, key, (n) => {
      writers.push((b) => n.writeThen(b, done));
      void follow(() => n.readChunk());
    });
  }
  const l = way === "deno"
    ? Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((l.addr as Deno.NetAddr).port);
  for await (const c of l) {
    if (way === "tcp") (c as Deno.TcpConn).setNoDelay(true);
    const b = new Uint8Array(64);
    writers.push((m) => void c.write(m).catch(() => {}));
    void follow(() => c.read(b));
  }
}

/** One run of `way`: the server in its own process, 100 connections from this one; CPU per write. */
export function pacedFloor(way: Way): Promise<Row[]> {
  return withRefServer(
    "paced floor server",
    import.meta.filename!,
    ["serve", way],
    async ({ pid, port, cert, dir }) => {
      const conns: Deno.Conn[] = [];
      try {
        for (let i = 0; i < FAN; i++) {
          conns.push(
            way === "tcp"
              ? await Deno.connect({ hostname: "127.0.0.1", port })
              : await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert] }),
          );
        }
        const cpu0 = await cpuMicros(pid);
        const all = conns.map(async (c) => {
          await c.write(new Uint8Array(1));
          const b = new Uint8Array(64 * 1024);
          for (let got = 0; got < ROUNDS * BYTES;) {
            const n = await c.read(b);
            if (n === null) throw new Error("the paced floor server closed a connection");
            got += n;
          }
        });
        await phase(`paced floor (${way}): ${ROUNDS} rounds`, 60_000, Promise.all(all));
        const cpu = (await cpuMicros(pid)) - cpu0;
        const name =
          `A-paced reference: ${WHAT[way]}, ${FAN} connections × ${ROUNDS} writes of ${BYTES} bytes, ` +
          `one round every ${EVERY_MS} ms:`;
        const heap = await floorFile(dir, 10_000);
        return [
          { name: `${name} server CPU per write`, value: cpu / (FAN * ROUNDS), unit: "µs" },
          {
            name: `${name} V8 old space per write (rounds with no collection)`,
            value: heap.oldPerWrite,
            unit: "B",
          },
        ];
      } finally {
        for (const c of conns) c.close();
      }
    },
  );
}

/** The server's FLOOR_FILE in `dir`, once it wrote it (after its last round); throws after `ms`. */
async function floorFile(dir: string, ms: number): Promise<{ oldPerWrite: number }> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${FLOOR_FILE}`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
      if (Date.now() > end) {
        throw new Error(`paced floor: no ${FLOOR_FILE} from its server within ${ms / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

if (import.meta.main && Deno.args[2] === "serve") { // (withRefServer: CERT KEY serve WAY)
  const [certPath, keyPath, , way] = Deno.args;
  const out = `${dirname(certPath!)}/${FLOOR_FILE}`;
  await serve(way as Way, Deno.readTextFileSync(certPath!), Deno.readTextFileSync(keyPath!), out);
}
