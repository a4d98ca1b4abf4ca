/**
 * The raw TCP floor for the files bench: `recv OUT` listens on 127.0.0.1 port 0, writes the port
 * into OUT.port, writes what one connection sends into OUT; `send PORT IN` sends IN. No encryption,
 * no framing.
 */
const [mode, a, b] = Deno.args;
if (mode === "recv") {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const out = await Deno.open(a!, { write: true, create: true, truncate: true });
  await Deno.writeTextFile(`${a}.port.tmp`, String((l.addr as Deno.NetAddr).port));
  await Deno.rename(`${a}.port.tmp`, `${a}.port`);
  const conn = await l.accept();
  await conn.readable.pipeTo(out.writable);
  l.close();
} else if (mode === "send") {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(a) });
  const f = await Deno.open(b!, { read: true });
  await f.readable.pipeTo(conn.writable);
} else {
  console.error("usage: tcp_copy.ts recv OUT | send PORT IN");
  Deno.exit(2);
}
