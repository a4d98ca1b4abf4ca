/**
 * Issue 33 point 5: a removed device must not come back with only the password and the account's
 * identity key (which every device of the account holds). Each test is the attack, on an
 * in-process server: the removed folder publishes as a new device (`device: 0`) without an
 * approval, with an approval it signed itself, or as another device's id; all are refused with a
 * stable code, and an approval from an active device still adds a device (under a new id).
 */
import assert from "node:assert/strict";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import type { E2eCodec } from "../lib/client/e2e/codec.ts";
import { deviceKeyOf } from "../lib/client/e2e/keys.ts";
import { type DeviceKey, newDeviceKey, signApproval, signDeviceProof } from "../lib/crypto/device_link.ts";
import { type IdentityKeyPair, publicIdentity } from "../lib/crypto/identity.ts";
import { generateOneTimePrekeys, generateSignedPrekey } from "../lib/crypto/prekeys.ts";
import { startTestServer } from "./helpers.ts";

/** A key upload under the account's identity `id`, as device `device`, proved with `dk` for `c`'s session. */
async function publishAs(
  c: ChatClient,
  id: IdentityKeyPair,
  device: number,
  dk: DeviceKey | null,
  approval?: { by: number; expires: number; sig: string },
) {
  const spk = await generateSignedPrekey(id, 1, Date.now());
  return await c.conn.request("keys.publish", {
    identity: publicIdentity(id),
    spk: { id: spk.id, pub: spk.pub, sig: spk.sig },
    opks: (await generateOneTimePrekeys(1, 3)).map((k) => ({ id: k.id, pub: k.pub })),
    device,
    ...(dk ? { deviceKey: dk.pub, proof: await signDeviceProof(dk, c.user, device, c.nonce) } : {}),
    ...(approval ? { approval } : {}),
  });
}

async function approve(by: DeviceKey, byDevice: number, newKey: string, ttl = 60_000) {
  const expires = Date.now() + ttl;
  return { by: byDevice, expires, sig: await signApproval(by, "alice", newKey, expires) };
}

async function aliceWithTwoDevices(t: Awaited<ReturnType<typeof startTestServer>>) {
  const { client, codec } = await t.e2eClient("alice");
  const id = (await codec.cs.get("identity")) as IdentityKeyPair;
  const dk1 = await deviceKeyOf(codec.cs);
  // Device 2 joins the way a link does: approved by device 1.
  const laptop = await t.client("alice", { register: false });
  const dk2 = await newDeviceKey();
  const added = await publishAs(laptop, id, 0, dk2, await approve(dk1, 1, dk2.pub));
  assert.equal(added.header.device, 2);
  return { client, codec: codec as E2eCodec, id, dk1, dk2 };
}

Deno.test("devices: a removed device cannot add itself back with the password and the identity key", async () => {
  const t = await startTestServer();
  try {
    const { codec, id, dk1, dk2 } = await aliceWithTwoDevices(t);
    await codec.host.conn.request("device.remove", { device: 2 });

    // The removed folder logs in again with the password; it still holds the identity key.
    const stolen = await t.client("alice", { register: false });
    const fresh = await newDeviceKey();
    // 1. As a new device without any approval (accepted as device 3 before issue 33).
    await assert.rejects(publishAs(stolen, id, 0, fresh), { code: "device_not_approved" });
    await assert.rejects(publishAs(stolen, id, 0, null), { code: "device_not_approved" });
    // 2. With an approval signed by its own (removed) device key, for a fresh key or its old one.
    await assert.rejects(publishAs(stolen, id, 0, fresh, await approve(dk2, 2, fresh.pub)), {
      code: "device_not_approved",
    });
    await assert.rejects(publishAs(stolen, id, 0, dk2, await approve(dk2, 2, dk2.pub)), {
      code: "device_removed",
    });
    // 3. An approval device 1 gave another key, or one that has expired.
    const other = await newDeviceKey();
    await assert.rejects(publishAs(stolen, id, 0, fresh, await approve(dk1, 1, other.pub)), {
      code: "device_not_approved",
    });
    await assert.rejects(publishAs(stolen, id, 0, fresh, await approve(dk1, 1, fresh.pub, -1000)), {
      code: "device_not_approved",
    });
    // 4. As device 1 (its keys replaced, its queue read: accepted before issue 33), or as itself.
    await assert.rejects(publishAs(stolen, id, 1, fresh), { code: "bad_device_proof" });
    await assert.rejects(publishAs(stolen, id, 1, null), { code: "bad_device_proof" });
    await assert.rejects(stolen.conn.request("keys.count", { device: 1 }), { code: "bad_device_proof" });
    await assert.rejects(publishAs(stolen, id, 2, dk2), { code: "device_removed" });
    // A proof made for another session (another nonce) does not pass either.
    const replay = { deviceKey: dk1.pub, proof: await signDeviceProof(dk1, "alice", 1, "another-nonce") };
    await assert.rejects(stolen.conn.request("keys.count", { device: 1, ...replay }), {
      code: "bad_device_proof",
    });

    // 5. Removing the account's other devices with only the password.
    await assert.rejects(stolen.conn.request("device.remove", { device: 1 }), { code: "bad_device_proof" });
    assert.deepEqual(
      (await t.srv.core.store.devices("alice")).map((d) => [d.device, d.removed === null]),
      [[1, true], [2, false]],
      "nothing was added",
    );
    // Device 1 approves a new device: it gets a new id, never the removed one's.
    const ok = await publishAs(stolen, id, 0, fresh, await approve(dk1, 1, fresh.pub));
    assert.equal(ok.header.device, 3);
  } finally {
    await t.stop();
  }
});

Deno.test("devices: the first device needs no approval; a device from before device keys records its key once", async () => {
  const t = await startTestServer();
  try {
    await aliceWithTwoDevices(t);
    const rows = await t.srv.core.store.devices("alice");
    assert.ok(rows.every((r) => r.signKey), "both devices have a key");
    // A device row without a key (made before issue 33) takes the first one it is shown, then only that.
    await t.srv.core.store.addDevice("carol", "", Date.now(), 0);
    const carol = await t.client("carol");
    const k = await newDeviceKey();
    const proof = async (dk: DeviceKey) => ({
      deviceKey: dk.pub,
      proof: await signDeviceProof(dk, "carol", 1, carol.nonce),
    });
    assert.equal((await carol.conn.request("keys.count", { device: 1 })).header.device, 1, "no key yet");
    await carol.conn.request("keys.count", { device: 1, ...(await proof(k)) });
    await assert.rejects(carol.conn.request("keys.count", { device: 1 }), { code: "bad_device_proof" });
    await assert.rejects(
      carol.conn.request("keys.count", { device: 1, ...(await proof(await newDeviceKey())) }),
      { code: "bad_device_proof" },
    );
  } finally {
    await t.stop();
  }
});

Deno.test("devices: a removed folder with the password cannot read, acknowledge, send, read history or change rooms", async () => {
  const t = await startTestServer();
  try {
    const { client: phone } = await aliceWithTwoDevices(t); // device 1, proved at login
    await phone.conn.request("device.remove", { device: 2 });
    const { client: bob } = await t.e2eClient("bob");
    for (const text of ["one", "two", "three"]) await bob.send({ kind: "user", name: "alice" }, text);
    const fid = "f".repeat(22);
    await bob.conn.request("file.put", { fid, to: "alice", size: 3, off: 0 }, new Uint8Array(3));

    // The removed folder logs in with the password and never proves a device: before the fix it
    // got device 1's queue, read its ciphertext and acknowledged it, so device 1 lost it.
    const stolen = await t.client("alice", { register: false });
    const refused = { code: "bad_device_proof" };
    await assert.rejects(stolen.conn.request("sync"), refused);
    const last = await t.srv.core.store.lastSeq();
    await assert.rejects(stolen.conn.request("ack", { acks: [{ conv: "d:alice:bob", seq: last }] }), refused);
    await assert.rejects(stolen.conn.request("file.list"), refused);
    await assert.rejects(stolen.conn.request("file.get", { fid, off: 0, len: 3 }), refused);
    await assert.rejects(stolen.conn.request("file.done", { fid }), refused);
    await assert.rejects(stolen.conn.request("file.abort", { fid }), refused);
    const bobT = { kind: "user" as const, name: "bob" };
    // Nor send as the account, read its sealed history or change its rooms (session 16).
    await assert.rejects(
      stolen.conn.request("send", { to: bobT, mid: "m".repeat(22) }, new Uint8Array(8)),
      refused,
    );
    await assert.rejects(stolen.conn.request("history", { to: bobT }), refused);
    await assert.rejects(stolen.conn.request("room.create", { room: "den", members: ["bob"] }), refused);

    // Device 1 still gets every message and the file.
    assert.deepEqual((await phone.sync()).map((m) => m.text), ["one", "two", "three"]);
    const files = (await phone.conn.request("file.list")).header.files as { fid: string }[];
    assert.deepEqual(files.map((f) => f.fid), [fid]);
  } finally {
    await t.stop();
  }
});

Deno.test("devices: an account from before device keys syncs and acknowledges without a proof", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    await bob.send({ kind: "user", name: "alice" }, "hi");
    const got = await alice.sync();
    assert.deepEqual(got.map((m) => m.text), ["hi"]);
    await alice.ack(got);
  } finally {
    await t.stop();
  }
});
