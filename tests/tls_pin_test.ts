/**
 * Issue 10 item 6: the certificate pin is exclusive. A server at a pinned address that presents a
 * different certificate, one the client's trust store accepts (a CA given with DENO_CERT, as a
 * publicly trusted certificate would be), is refused with the CHANGED warning before any password
 * is sent.
 */
import assert from "node:assert/strict";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import { testCaAndLeaf } from "../lib/net/cert_testing.ts";
import { runProgram, startTestServer } from "./helpers.ts";

Deno.test({
  name: "a certificate trusted by the system but not the pinned one is refused as CHANGED",
  ignore: Deno.build.os === "windows", // the test CA is made with the openssl command
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-pin-" });
  // A test CA and a leaf it signs for 127.0.0.1 (ca.pem in `dir`).
  const { leafPem: cert, leafKey: key } = await testCaAndLeaf(dir);
  const t = await startTestServer({}, { tls: { cert, key } });
  const pinned = await makeSelfSignedCert(); // the certificate the client pinned for this address
  try {
    const home = `${dir}/home`;
    await Deno.mkdir(home);
    const entry = { fingerprint: "pinned", pem: pinned.cert, added: new Date().toISOString() };
    await Deno.writeTextFile(
      `${home}/known_servers.json`,
      JSON.stringify({ [`127.0.0.1:${t.port}`]: entry }),
    );
    const r = await runProgram(
      "client.ts",
      ["login", "--server", `127.0.0.1:${t.port}`, "--user", "alice"],
      { PARLEY_PASSWORD: "a-secret-password-1", PARLEY_HOME: home, DENO_CERT: `${dir}/ca.pem` },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.err + r.out, /has CHANGED/);
    assert.ok(!t.lines.some((l) => l.includes("login")), "no login reached the impostor");
  } finally {
    await t.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
