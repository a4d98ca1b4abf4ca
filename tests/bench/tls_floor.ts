/**
 * The runtime's floor under the relayed copy (issue 36), measured beside it in the files bench: what
 * receiving bulk bytes over TLS costs a server with no Parley code on top, through the stack
 * Parley's server uses (lib/net/tls_server.ts: node:net accept, node:tls, `NodeConn.readChunk`)
 * and through Deno's own TLS server (`Deno.listenTls`, reads into one buffer). The sender is the
 * client's own connection (lib/net/tls.ts `connectTls`, pinned), writing 448 KiB bodies as a
 * relayed upload does. Each sink counts its own CPU (user + system) from the first byte to the end.
 * And why the server cannot take Deno's TLS instead: `Deno.listenTls` keeps the descriptor of a
 * connection it closed while the peer keeps its end open, so a client that connects and never
 * handshakes holds a descriptor of the server's for as long as it likes (the canary row: how many
 * of `CANARY` such connections still hold one after close).
 *
 *   deno run -A tests/bench/tls_floor.ts sink node|deno CERT KEY MIB   (prints its port, then a JSON line)
 *   deno run -A tests/bench/tls_floor.ts send PORT CERT MIB
 *   deno run -A tests/bench/tls_floor.ts canary CERT KEY            (prints the count)
 */
import process from "node:process";
import { writeAll } from "../../lib/common/bytes.ts";
import { connectTls } from "../../lib/net/tls.ts";
import { listenTlsServer } from "../../lib/net/tls_server.ts";
import { rootFile } from "../helpers.ts";
import { GIB } from "./files_proc.ts";
import { repeated } from "./proc.ts";

/** Connections of the canary. */
const CANARY = 50;
/** One relayed upload body: 7 age chunks of 64 KiB + tag. */
const BODY = 7 * (64 * 1024 + 16);

/** Counts bytes from the first to the end; prints `{bytes, cpu}` (cpu: seconds). */
function counter() {
  let n = 0, u0: NodeJS.CpuUsage | null = null;
  return {
    add(k: number) {
      u0 ??= process.cpuUsage();
      n += k;
    },
    end() {
      const u = process.cpuUsage(u0 ?? undefined);
      console.log(JSON.stringify({ bytes: n, cpu: (u.user + u.system) / 1e6 }));
    },
  };
}

/** Bytes the sender sends for `mib` MiB (whole bodies). */
const total = (mib: number) => Math.ceil(mib * 1024 * 1024 / BODY) * BODY;
const ACK = new Uint8Array([1]);

/** Receives `want` bytes, then answers one byte (a Deno TLS sender's close drops what it has not flushed). */
async function sink(kind: string, cert: string, key: string, want: number): Promise<void> {
  const c = counter();
  if (kind === "deno") {
    const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
    console.log((l.addr as Deno.NetAddr).port);
    const conn = await l.accept();
    const b = new Uint8Array(256 * 1024);
    for (let got = 0; got < want;) {
      const r = await conn.read(b);
      if (r === null) throw new Error(`the sender stopped at ${got} bytes`);
      c.add(r);
      got += r;
    }
    c.end();
    await conn.write(ACK);
    conn.close();
    l.close();
    return;
  }
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const srv = await listenTlsServer({
    host: "127.0.0.1",
    port: 0,
    cert,
    key,
    handshakeMs: 10_000,
    admit: () => "accept",
    onRefused: (s) => s.close(),
    onConn: async (s) => {
      for (let got = 0; got < want;) {
        const p = await s.readChunk();
        if (!p) throw new Error(`the sender stopped at ${got} bytes`);
        c.add(p.length);
        got += p.length;
      }
      c.end();
      await s.write(ACK);
      s.close();
      resolve();
    },
  });
  console.log(srv.port);
  await done;
  await srv.close();
}

async function send(port: number, certPem: string, mib: number): Promise<void> {
  const conn = await connectTls({ host: "127.0.0.1", port, caPem: certPem });
  const body = new Uint8Array(BODY).fill(7);
  for (let n = 0; n < total(mib); n += body.length) await writeAll(conn, body);
  await conn.readChunk(); // the sink has it all
  conn.close();
}

/** Server descriptors still open after closing `CANARY` accepted connections whose peers stay. */
async function canary(cert: string, key: string): Promise<number> {
  const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const port = (l.addr as Deno.NetAddr).port;
  const peers: Deno.Conn[] = [];
  for (let i = 0; i < CANARY; i++) peers.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  const before = fds(); // the peers' ends, not the server's
  const accepted: Deno.TlsConn[] = [];
  for (let i = 0; i < CANARY; i++) accepted.push(await l.accept());
  for (const a of accepted) a.close();
  await new Promise((r) => setTimeout(r, 300));
  const held = fds() - before;
  for (const p of peers) p.close();
  l.close();
  return held;
}

const run = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", rootFile("tests/bench/tls_floor.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();

/** One sink of `kind` receiving `mib` MiB: its CPU seconds per GiB. */
async function floorOf(kind: "node" | "deno", dir: string, mib: number): Promise<number> {
  const [cert, key] = [`${dir}/floor-cert.pem`, `${dir}/floor-key.pem`];
  const s = run(["sink", kind, cert, key, String(mib)]);
  const reader = s.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tls_floor sink ${kind} ended before listening`);
    out += value;
  }
  const port = out.split("\n")[0]!.trim();
  const sender = await run(["send", port, cert, String(mib)]).output();
  if (!sender.success) throw new Error(`tls_floor send: ${new TextDecoder().decode(sender.stderr)}`);
  for (let r; !(r = await reader.read()).done;) out += r.value;
  const st = await s.status;
  const line = out.split("\n")[1] ?? "";
  if (!st.success || !line.startsWith("{")) throw new Error(`tls_floor sink ${kind}: ${out}`);
  const { bytes, cpu } = JSON.parse(line) as { bytes: number; cpu: number };
  if (bytes !== total(mib)) throw new Error(`tls_floor sink ${kind}: ${bytes} bytes`);
  return cpu / (bytes / GIB);
}

/** The rows: each sink's CPU per GiB (medians of `times`) and the canary. */
export async function tlsFloorRows(dir: string, pair: { cert: string; key: string }, mib = 512, times = 3) {
  await Deno.writeTextFile(`${dir}/floor-cert.pem`, pair.cert);
  await Deno.writeTextFile(`${dir}/floor-key.pem`, pair.key);
  const rows = await repeated(times, async () => [
    {
      name: "TLS receive floor, node:tls (the server's listener)",
      value: await floorOf("node", dir, mib),
      unit: "s",
    },
    { name: "TLS receive floor, Deno.listenTls", value: await floorOf("deno", dir, mib), unit: "s" },
  ]);
  const c = await run(["canary", `${dir}/floor-cert.pem`, `${dir}/floor-key.pem`]).output();
  rows.push({
    name: `Deno.listenTls: fds kept of ${CANARY} closed`,
    value: Number(new TextDecoder().decode(c.stdout).trim()),
    unit: "",
  });
  return rows;
}

if (import.meta.main) {
  const [mode, a, b, c, d] = Deno.args;
  if (mode === "sink") await sink(a!, Deno.readTextFileSync(b!), Deno.readTextFileSync(c!), total(Number(d)));
  else if (mode === "send") await send(Number(a), Deno.readTextFileSync(b!), Number(c));
  else if (mode === "canary") console.log(await canary(Deno.readTextFileSync(a!), Deno.readTextFileSync(b!)));
  else {
    console.error("usage: tls_floor.ts sink node|deno CERT KEY MIB | send PORT CERT MIB | canary CERT KEY");
    Deno.exit(2);
  }
}
