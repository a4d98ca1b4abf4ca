/**
 * key_checks.ts's bound on device approvals (issue 33, issue 70 item 11): a new device (`device: 0`)
 * is taken only with an approval of an active device that has not expired and expires at most a day
 * from the server's now — on a hand-driven clock, at each edge and a millisecond past it; and only
 * with the approving device's valid signature.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { newDeviceKey, signApproval, signDeviceProof } from "../crypto/device_link.ts";
import type { Core } from "./core.ts";
import { deviceRefusal } from "./key_checks.ts";
import type { Session } from "./session.ts";
import type { DeviceRow } from "./store/store.ts";

/** The rule's number written out: a longer or shorter bound fails here. */
const DAY = 86_400_000;

Deno.test("key checks: a new device's approval expires no later than a day from now, and not before now", async () => {
  const clock = new ManualClock();
  const c = { clock } as unknown as Core;
  const s = { user: "alice", nonce: "hello-nonce" } as unknown as Session;
  const phone = await newDeviceKey(), laptop = await newDeviceKey();
  const rows: DeviceRow[] = [
    { device: 1, name: "phone", created: 0, sinceSeq: 0, removed: null, signKey: phone.pub },
  ];
  const proof = await signDeviceProof(laptop, "alice", 0, "hello-nonce");
  /** The refusal's code of the laptop's upload approved by the phone until `expires` (null: taken). */
  const upload = async (expires: number, signer = phone) => {
    const approval = { by: 1, expires, sig: await signApproval(signer, "alice", laptop.pub, expires) };
    const r = await deviceRefusal(c, s, { device: 0, deviceKey: laptop.pub, proof, approval }, rows, "new");
    return r?.code ?? null;
  };
  const now = clock.now();
  assert.equal(await upload(now + DAY), null, "a day from now is taken");
  assert.equal(await upload(now + DAY + 1), ErrorCode.DeviceNotApproved, "a millisecond more is not");
  assert.equal(await upload(now), null, "an approval expiring now is still good");
  assert.equal(await upload(now - 1), ErrorCode.DeviceNotApproved, "an expired one is not");
  // The same approval an hour and a millisecond later, once it expired.
  const expires = now + 3600_000;
  assert.equal(await upload(expires), null);
  clock.advance(3600_000 + 1);
  assert.equal(await upload(expires), ErrorCode.DeviceNotApproved, "expired since");
  // Signed by the new device itself, not by an active one.
  assert.equal(await upload(clock.now() + 60_000, laptop), ErrorCode.DeviceNotApproved);
});
