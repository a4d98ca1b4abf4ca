import assert from "node:assert/strict";
import { newDeviceKey, signApproval, signDeviceProof } from "./device_link.ts";
import { verifyApproval, verifyDeviceProof } from "./prekey_verify.ts";

Deno.test("verifyDeviceProof() binds the account, the device number and the session nonce", async () => {
  const k = await newDeviceKey();
  const sig = await signDeviceProof(k, "alice", 2, "n1");
  assert.equal(await verifyDeviceProof(k.pub, { user: "alice", device: 2, nonce: "n1" }, sig), true);
  for (
    const p of [{ user: "bob", device: 2, nonce: "n1" }, { user: "alice", device: 1, nonce: "n1" }, {
      user: "alice",
      device: 2,
      nonce: "n2",
    }]
  ) {
    assert.equal(await verifyDeviceProof(k.pub, p, sig), false, JSON.stringify(p));
  }
  const other = await newDeviceKey();
  assert.equal(await verifyDeviceProof(other.pub, { user: "alice", device: 2, nonce: "n1" }, sig), false);
  // Garbage never throws: it does not verify.
  for (const [key, s] of [["", sig], [k.pub, "%%"], [undefined, undefined], [k.pub, sig.slice(4)]]) {
    assert.equal(await verifyDeviceProof(key, { user: "alice", device: 2, nonce: "n1" }, s), false);
  }
});

Deno.test("verifyApproval() binds the account, the new device's key and the expiry", async () => {
  const [old, neu, other] = [await newDeviceKey(), await newDeviceKey(), await newDeviceKey()];
  const sig = await signApproval(old, "alice", neu.pub, 1000);
  const a = { user: "alice", newKey: neu.pub, expires: 1000 };
  assert.equal(await verifyApproval(old.pub, a, sig), true);
  assert.equal(await verifyApproval(old.pub, { ...a, user: "bob" }, sig), false);
  assert.equal(await verifyApproval(old.pub, { ...a, newKey: other.pub }, sig), false);
  assert.equal(await verifyApproval(old.pub, { ...a, expires: 10_000 }, sig), false, "a later expiry");
  assert.equal(await verifyApproval(neu.pub, a, sig), false, "signed by another device");
  assert.equal(await verifyApproval(old.pub, { ...a, newKey: "short" }, sig), false);
});
