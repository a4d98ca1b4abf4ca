/**
 * How a feature's control payload leaves (the `SealedChannel`'s `send`, e2e/controls.ts): to a user,
 * a DM sealed for every device of theirs (pairwise, e2e/dm_seal.ts; sealed once more when devices
 * changed); to a room, one message under my room key (issue 36: a room file's offer, opened by
 * every member's devices), the sender-key handouts it needs sent first (e2e/handouts.ts). Both
 * leave through the core's link (the host's `link`, core/link.ts), as messages do. Either
 * way the message is recorded as consumed on my side (it never shows as a line). The payload's
 * kind must be the one named, and a room gets only kinds registered as `room` (a bug otherwise:
 * throws); receivers run it only for such kinds too.
 */
import { randomId } from "../../common/random.ts";
import { convKey } from "../../protocol/names.ts";
import { type BodyCodec, handOut, sealAndSend } from "./body_codec.ts";
import { payloadKind } from "./controls.ts";
import type { Target } from "../backend.ts";
import { dmEncrypt } from "./dm_seal.ts";
import { commitConsumed, type E2eParts, NO_WRITES } from "./parts.ts";
import { sealRoom } from "./room_seal.ts";

/** Runs a step under the folder's lock. */
type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

/** Sends `encode(mid)`, a payload of control kind `kind`, to `to` (a user or a room); `serial` runs under the folder's lock. */
export async function sendControl(
  codec: BodyCodec,
  p: E2eParts,
  serial: Serial,
  to: Target,
  kind: string,
  encode: (mid: string) => Uint8Array,
): Promise<void> {
  const mid = randomId(undefined, 12), payload = encode(mid);
  const got = payloadKind(payload);
  if (got !== kind) throw new Error(`A "${kind}" control was asked for, the payload is "${got}"`);
  if (to.kind === "user" && to.name === p.me && p.devices.alone) return; // spares the lock (checked again under it)
  if (to.kind === "user") return await serial(() => sendToUser(p, to.name!, mid, payload));
  if (to.kind !== "room" || !p.controls.mayComeInRoom(kind)) {
    throw new Error(`The control kind "${kind}" cannot go to a ${to.kind}`);
  }
  const room = { kind: "room" as const, name: to.name! };
  const s = await serial(() => sealRoom(p, room, payload));
  await handOut(codec, p.host.link, s.handouts);
  const { seq } = await p.host.link.send(room, mid, s.body);
  if (seq > 0) await serial(() => commitConsumed(p, NO_WRITES, seq, convKey("room", room.name)));
}

/**
 * The DM path, under the lock: sealed for every device of `user`, sent, recorded as consumed. One
 * to myself (a note to self for my other devices) goes nowhere when I have no other device.
 */
async function sendToUser(p: E2eParts, user: string, mid: string, payload: Uint8Array): Promise<void> {
  if (user === p.me && !(await p.devices.targets(user)).length) return;
  const to = { kind: "user" as const, name: user };
  const { seq } = await sealAndSend(
    () => dmEncrypt(p, user, payload),
    (r) => p.host.link.send(to, mid, r.body, { devices: r.devices }),
    (detail) => p.devices.apply(detail), // under the lock already
  );
  if (seq > 0) await commitConsumed(p, NO_WRITES, seq, convKey("user", p.me, user));
}
