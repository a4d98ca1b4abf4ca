/**
 * Reference for bench C: a bare Deno TLS echo server with no Parley code (a 256-byte read buffer
 * per connection, like Parley's idle buffer). Prints its port; runs until killed.
 */
const [cert, key] = [Deno.readTextFileSync(Deno.args[0]!), Deno.readTextFileSync(Deno.args[1]!)];
const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
console.log((l.addr as Deno.NetAddr).port);
for await (const c of l) {
  (async () => {
    const b = new Uint8Array(256);
    try {
      for (;;) {
        const n = await c.read(b);
        if (n === null) break;
        await c.write(b.subarray(0, n));
      }
    } catch { /* closed */ }
  })();
}
