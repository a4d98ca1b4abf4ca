import assert from "node:assert/strict";
import { toBase64 } from "../common/bytes.ts";
import { generateIdentity } from "./identity.ts";
import { buildBundle, generateSignedPrekey } from "./prekeys.ts";
import { verifyBundle } from "./prekey_verify.ts";
import { x25519Generate } from "./primitives.ts";

Deno.test("verifyBundle() checks the identity self-signature, not only the signed prekey", async () => {
  const id = await generateIdentity();
  const spk = await generateSignedPrekey(id, 1, 0);
  const good = buildBundle(id, spk);
  assert.equal(await verifyBundle(good), true);
  // The server swaps in its own DH identity key; the signed prekey still verifies under `sign`,
  // so only the identity self-signature check catches it.
  const dh = toBase64((await x25519Generate()).pub);
  assert.equal(await verifyBundle({ ...good, identity: { ...good.identity, dh } }), false);
  const other = await generateIdentity();
  assert.equal(await verifyBundle({ ...good, identity: { ...good.identity, sig: other.sig } }), false);
  // and the signed prekey's own signature
  assert.equal(await verifyBundle({ ...good, spk: { ...good.spk, sig: other.sig } }), false);
});
