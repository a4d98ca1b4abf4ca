/** Issue 10 item 18: the server speaks TLS 1.3 only; a client limited to TLS 1.2 is refused. */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { startTestServer } from "./helpers.ts";

function handshake(port: number, ca: string, maxVersion: tls.SecureVersion): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca, checkServerIdentity: () => undefined, maxVersion });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error("no answer"));
    }, 5000);
    s.once("secureConnect", () => {
      clearTimeout(t);
      const v = s.getProtocol() ?? "?";
      s.destroy();
      resolve(v);
    });
    s.once("error", (e) => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    });
  });
}

Deno.test("the server accepts TLS 1.3 and refuses a TLS 1.2-only client", async () => {
  const t = await startTestServer();
  try {
    assert.equal(await handshake(t.port, t.cert, "TLSv1.3"), "TLSv1.3");
    await assert.rejects(handshake(t.port, t.cert, "TLSv1.2"));
  } finally {
    await t.stop();
  }
});
