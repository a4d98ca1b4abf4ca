/**
 * The pin is the certificate, whatever the address (issue 71.17): a server restored at a new address
 * with the certificate a folder pinned elsewhere is trusted there without a first-contact question,
 * and pinned under the new address; a certificate pinned nowhere is still "not known yet".
 */
import assert from "node:assert/strict";
import { trustedCertificate } from "../lib/client/session/trust.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { startTestServer } from "./helpers.ts";

Deno.test("trust: a certificate pinned for another address is trusted at a new one, and pinned there", async () => {
  const t = await startTestServer();
  const home = await Deno.makeTempDir({ prefix: "parley-trust-" });
  try {
    const o = { home, host: "127.0.0.1", port: t.srv.port };
    await assert.rejects(trustedCertificate(o), /The server at 127\.0\.0\.1:\d+ is not known yet/);
    const pem = await (await fetchPem(t.srv.port));
    const old = { fingerprint: await fingerprintPem(pem), pem, added: "2026-01-01T00:00:00.000Z" };
    await Deno.writeTextFile(`${home}/known_servers.json`, JSON.stringify({ "old.example:9797": old }));
    assert.equal(await trustedCertificate(o), pem, "no question asked: the same certificate");
    const known = JSON.parse(await Deno.readTextFile(`${home}/known_servers.json`));
    assert.equal(known[`127.0.0.1:${t.srv.port}`]?.fingerprint, old.fingerprint, "pinned at the new address");
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});

/** The server's certificate, as a first contact sees it. */
async function fetchPem(port: number): Promise<string> {
  const { probeCertificate } = await import("../lib/net/tls.ts");
  return await probeCertificate("127.0.0.1", port);
}
