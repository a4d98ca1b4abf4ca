/** cert.ts: the server's key handed to the TLS layer as SEC1 when it is an EC key, else as it is. */
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { makeSelfSignedCert, tlsKeyPem } from "./cert.ts";

Deno.test("tlsKeyPem: an EC key in PKCS#8 comes back as the same key in SEC1; other keys and non-keys as they are", async () => {
  const { key } = await makeSelfSignedCert();
  assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
  const sec1 = tlsKeyPem(key);
  assert.match(sec1, /^-----BEGIN EC PRIVATE KEY-----/);
  const pub = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
  assert.deepEqual(pub(sec1), pub(key), "the same key");
  assert.equal(tlsKeyPem(sec1), sec1, "SEC1 stays SEC1");
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  });
  assert.equal(tlsKeyPem(rsa as string), rsa, "an RSA key is left as it is");
  assert.equal(tlsKeyPem("not a key"), "not a key");
});
