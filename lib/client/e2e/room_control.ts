/**
 * A control payload sent to a room as one message under my room key (issue 36: a room file's offer,
 * opened by every member's devices): sealed like a room message under the folder's lock, the
 * sender-key handouts it needs sent first (e2e/handouts.ts), then the message, recorded as consumed
 * on my side (it never shows as a line). Receivers run it only for kinds that say `room`
 * (e2e/controls.ts).
 */
import { randomId } from "../../common/random.ts";
import { convKey } from "../../protocol/names.ts";
import type { BodyCodec } from "./body_codec.ts";
import { handOut } from "./handouts.ts";
import { commitConsumed, type E2eParts, NO_WRITES } from "./parts.ts";
import { sealRoom } from "./room_seal.ts";

/** Seals `encode(mid)` for `room` and sends it (handouts first); `serial` runs under the folder's lock. */
export async function sendRoomControl(
  codec: BodyCodec,
  p: E2eParts,
  serial: <T>(fn: () => Promise<T>) => Promise<T>,
  room: string,
  encode: (mid: string) => Uint8Array,
): Promise<void> {
  const mid = randomId(undefined, 12), to = { kind: "room" as const, name: room };
  const s = await serial(() => sealRoom(p, to, encode(mid)));
  await handOut(codec, p.host.conn, s.handouts);
  const sent = await p.host.conn.request("send", { to, mid }, s.body);
  const seq = Number(sent.header.seq ?? 0);
  if (seq > 0) await serial(() => commitConsumed(p, NO_WRITES, seq, convKey("room", room)));
}
