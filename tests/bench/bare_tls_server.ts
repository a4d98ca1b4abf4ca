/**
 * Reference for bench C: a bare TLS echo server with no Parley code. Default: Deno.listenTls (a
 * 256-byte read buffer per connection, like Parley's idle buffer). `--node`: the path Parley's
 * server takes (lib/net/tls_server.ts: node:net accept, TCP_NODELAY, node:tls server socket, the key
 * as tlsKeyPem gives it), so
 * the bench shows what that path costs by itself. Prints its port; runs until killed.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { tlsKeyPem } from "../../lib/net/cert.ts";

const [cert, key] = [Deno.readTextFileSync(Deno.args[0]!), Deno.readTextFileSync(Deno.args[1]!)];
if (Deno.args.includes("--node")) {
  const ctx = tls.createSecureContext({ key: tlsKeyPem(key), cert, minVersion: "TLSv1.3" });
  const srv = net.createServer((raw) => {
    raw.setNoDelay(true);
    const s = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
    s.on("data", (d: Uint8Array) => s.write(d));
    s.on("error", () => s.destroy());
  });
  srv.listen(0, "127.0.0.1", () => console.log((srv.address() as net.AddressInfo).port));
} else {
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
}
