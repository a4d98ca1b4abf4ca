/**
 * What two peer nodes say inside their authenticated channel (pure codec). Each record is one JSON
 * object, checked against its schema (valibot, strict: unknown keys and kinds are refused):
 *
 *   hello   {t:"hello", listen?, bundle}   first record both ways: where I listen ("host:port", or
 *                                          ":port" for "the address you reached me from") and my
 *                                          signed prekey bundle, to start a Double Ratchet (X3DH)
 *   msg     {t:"msg", mid, ts, env}        one message: DmManager envelope (base64), my id and time
 *   ack     {t:"ack", mid}                 saved: drop it from your outbox
 *   typing  {t:"typing", active}           the user is typing to you (or stopped)
 *   sig     {t:"sig", mid, env}            a signal (core/link.ts `signal`): a sealed body, never acked
 *   ping    {t:"ping"}                     keepalive (a channel silent for three periods is dropped)
 *   who     {t:"who"}                      /peers --discover: whom do you know? (answered to verified peers)
 *   intro   {t:"intro", peers}             name, address and identity of the peers I know (at most 64)
 *   foffer … fend                          a file transfer's records (files/carried_wire.ts), the bulk
 *                                          frame of an `fdata` joined to it by peer/records.ts
 *
 * `decodePeerRecord` throws `SyntaxError` on anything else.
 */
import * as v from "valibot";
import { toHex, utf8, utf8Strict } from "../../common/bytes.ts";
import { cryptoRandom } from "../../common/random.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { PublicIdentity } from "../../crypto/identity.ts";
import type { FileHead } from "../files/carried_common.ts";
import { FILE_RECORD_SCHEMAS, type FileDataHead } from "../files/carried_wire.ts";

const B64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/));
const Mid = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
/** A fresh message id in the wire's form (32 hex digits). */
export const newMid = (): string => toHex(cryptoRandom(16));
const Id = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const Identity = v.strictObject({ sign: B64(64), dh: B64(64), sig: B64(128) });
const Addr = v.pipe(v.string(), v.maxLength(300), v.regex(/^[^\s]*:\d{1,5}$/));
const Bundle = v.strictObject({
  identity: Identity,
  spk: v.strictObject({ id: Id, pub: B64(64), sig: B64(128) }),
});

const PeerRecordSchema = v.variant("t", [
  v.strictObject({
    t: v.literal("hello"),
    listen: v.optional(Addr),
    bundle: Bundle,
  }),
  v.strictObject({
    t: v.literal("msg"),
    mid: Mid,
    ts: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15)),
    env: B64(1 << 20),
  }),
  v.strictObject({ t: v.literal("ack"), mid: Mid }),
  v.strictObject({ t: v.literal("typing"), active: v.boolean() }),
  v.strictObject({ t: v.literal("sig"), mid: Mid, env: B64(1 << 16) }),
  v.strictObject({ t: v.literal("ping") }),
  v.strictObject({ t: v.literal("who") }),
  v.strictObject({
    t: v.literal("intro"),
    peers: v.pipe(
      v.array(
        v.strictObject({
          name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
          addr: Addr,
          identity: Identity,
        }),
      ),
      v.maxLength(64),
    ),
  }),
  ...FILE_RECORD_SCHEMAS,
]);

export type PeerWireRecord =
  | { t: "hello"; listen?: string; bundle: PrekeyBundle }
  | { t: "msg"; mid: string; ts: number; env: string }
  | { t: "ack"; mid: string }
  | { t: "typing"; active: boolean }
  | { t: "sig"; mid: string; env: string }
  | { t: "ping" }
  | { t: "who" }
  | { t: "intro"; peers: { name: string; addr: string; identity: PublicIdentity }[] }
  | FileHead
  | FileDataHead;

export function encodePeerRecord(r: PeerWireRecord): Uint8Array {
  return utf8.encode(JSON.stringify(r));
}

export function decodePeerRecord(b: Uint8Array): PeerWireRecord {
  let j: unknown;
  try {
    j = JSON.parse(utf8Strict.decode(b));
  } catch {
    throw new SyntaxError("Peer record is not JSON");
  }
  const r = v.safeParse(PeerRecordSchema, j);
  if (!r.success) throw new SyntaxError(`Bad peer record: ${r.issues[0]?.message ?? "invalid"}`);
  return r.output as PeerWireRecord;
}
