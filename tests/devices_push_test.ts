/**
 * Device changes go only to those who encrypt to the user (issue 33 item 11): the user's own
 * sessions and the members of their rooms, on one server and across three nodes; a logged-in user
 * who shares no conversation learns nothing of them.
 */
import assert from "node:assert/strict";
import { generateIdentity, publicIdentity } from "../lib/crypto/identity.ts";
import { generateOneTimePrekeys, generateSignedPrekey } from "../lib/crypto/prekeys.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { type DeviceKey, newDeviceKey, signApproval, signDeviceProof } from "../lib/crypto/device_link.ts";
import { eventually } from "./helpers.ts";
import { topologyTest } from "./topology.ts";

/** `c`'s device pushes, and (`fences`) how many messages were pushed (a fence: later than every earlier push). */
function devicePushes(c: ChatClient): unknown[] & { fences?: number } {
  const got: unknown[] & { fences?: number } = [];
  c.conn.onPush((f) => {
    if (f.header.t === "devices") got.push([f.header.user, f.header.devices]);
    if (f.header.t === "msg") got.fences = (got.fences ?? 0) + 1;
  });
  return got;
}

topologyTest(
  "devices: a new or removed device is pushed to the user's sessions and room co-members only",
  async (start) => {
    const t = await start();
    try {
      const alice = await t.client("alice");
      const mate = await t.client("mate");
      const stranger = await t.client("stranger");
      const alice2 = await t.client("alice", { register: false });
      await Promise.all([alice.sync(), mate.sync(), stranger.sync(), alice2.sync()]);
      await alice.commands.createRoom("team", ["mate"]);
      const [toMate, toStranger, toOwn] = [devicePushes(mate), devicePushes(stranger), devicePushes(alice)];
      const id = await generateIdentity();
      const keys = async () => {
        const spk = await generateSignedPrekey(id, 1, Date.now());
        return {
          identity: publicIdentity(id),
          spk: { id: spk.id, pub: spk.pub, sig: spk.sig },
          opks: (await generateOneTimePrekeys(1, 3)).map((k) => ({ id: k.id, pub: k.pub })),
        };
      };
      // Each session proves its device key; the second device carries the first one's approval.
      const [dk1, dk2] = [await newDeviceKey(), await newDeviceKey()];
      const proof = async (c: ChatClient, dk: DeviceKey, device: number) => ({
        deviceKey: dk.pub,
        proof: await signDeviceProof(dk, "alice", device, c.nonce),
      });
      await alice.conn.request("keys.publish", { ...(await keys()), ...(await proof(alice, dk1, 1)) });
      const expires = Date.now() + 60_000;
      const approval = { by: 1, expires, sig: await signApproval(dk1, "alice", dk2.pub, expires) };
      const added = await alice2.conn.request("keys.publish", {
        ...(await keys()),
        device: 0,
        ...(await proof(alice2, dk2, 0)),
        approval,
      });
      assert.equal(added.header.device, 2);
      const want = JSON.stringify(["alice", [1, 2]]);
      await eventually(
        () => toMate.some((p) => JSON.stringify(p) === want),
        3000,
        "the room co-member is told",
      );
      await eventually(
        () => toOwn.some((p) => JSON.stringify(p) === want),
        3000,
        "alice's own session is told",
      );
      await alice.conn.request("device.remove", { device: 2 });
      const one = JSON.stringify(["alice", [1]]);
      await eventually(() => toMate.some((p) => JSON.stringify(p) === one), 3000, "the removal too");
      // The fence: a message alice sends the stranger once the removal's pushes have gone out (the
      // co-member has it) comes after any device push on the way to the stranger, on every node.
      await alice.send({ kind: "user", name: "stranger" }, "fence");
      await eventually(() => toStranger.fences === 1 || null, 3000, "the stranger gets the fence");
      assert.deepEqual([...toStranger], [], "a user who shares no conversation is told nothing");
    } finally {
      await t.stop();
    }
  },
);
