import assert from "node:assert/strict";
import { generateIdentity } from "./identity.ts";
import {
  changeRequiresRotation,
  type MembershipChange,
  signMembershipChange,
  verifyMembershipChange,
} from "./membership.ts";

Deno.test("verifyMembershipChange() accepts an admin's signature and refuses others or edits", async () => {
  const admin = await generateIdentity();
  const other = await generateIdentity();
  const change: MembershipChange = {
    room: "general",
    action: "kick",
    target: "mallory",
    by: "alice",
    epoch: 5,
    at: 1700000000000,
  };
  const signed = await signMembershipChange(admin, change);
  assert.ok(await verifyMembershipChange(signed, [admin.sign.pub]));
  assert.equal(await verifyMembershipChange(signed, [other.sign.pub]), false);
  assert.equal(
    await verifyMembershipChange({ ...signed, change: { ...change, target: "bob" } }, [admin.sign.pub]),
    false,
  );
  assert.equal(
    await verifyMembershipChange({ ...signed, change: { ...change, epoch: 6 } }, [admin.sign.pub]),
    false,
  );
  const forged = await signMembershipChange(other, change);
  assert.equal(await verifyMembershipChange({ ...forged, signer: admin.sign.pub }, [admin.sign.pub]), false);
  assert.ok(changeRequiresRotation(change));
  assert.equal(changeRequiresRotation({ ...change, action: "join" }), false);
});
