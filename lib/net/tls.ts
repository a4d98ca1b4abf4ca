/**
 * The only file that opens sockets: TLS listen, pinned TLS connect, and a first-contact probe
 * that reads the server's certificate without trusting it (node:tls) so the user can decide.
 */
import * as tls from "node:tls";
import { derToPem } from "./cert.ts";

export type Conn = Deno.Conn;
export type Listener = Deno.Listener;

export function listenTls(o: { host: string; port: number; cert: string; key: string }): Deno.TlsListener {
  return Deno.listenTls({ hostname: o.host, port: o.port, cert: o.cert, key: o.key, transport: "tcp" });
}

/** Connects trusting only `caPem` (the pinned certificate). */
export async function connectTls(
  o: { host: string; port: number; caPem: string },
): Promise<Deno.TlsConn> {
  const c = await Deno.connectTls({ hostname: o.host, port: o.port, caCerts: [o.caPem] });
  await c.handshake();
  return c;
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
