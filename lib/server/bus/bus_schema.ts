/**
 * The schema of a bus envelope (issue 33 item 2): every event a node receives is checked with valibot
 * after it was opened (seal.ts), so even a sealed event of the wrong shape is dropped, never acted on.
 * One schema per `BusEvent` kind of bus_event.ts; unknown kinds and unexpected keys are refused. Pure.
 */
import * as v from "valibot";
import type { BusEvent, BusRow } from "./bus_event.ts";

const Str = (max: number) => v.pipe(v.string(), v.maxLength(max));
const Name = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const Int = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const Users = v.pipe(v.array(Name), v.maxLength(100_000));
/** A push to sessions: any server-to-client header (the codec encodes it; it carries a kind). */
const Header = v.looseObject({ t: v.pipe(v.string(), v.minLength(1), v.maxLength(32)) });
/** Bodies relayed between nodes (base64 of a stream frame or a link message). */
const Body = v.pipe(v.string(), v.maxLength(32 * 1024 * 1024), v.regex(/^[A-Za-z0-9+/]*={0,2}$/));

const isInt = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
const isStr = (s: unknown, max: number, min = 0): s is string =>
  typeof s === "string" && s.length >= min && s.length <= max;
const KINDS: ReadonlySet<unknown> = new Set(["user", "room", "broadcast"]);

/**
 * The stored messages a `msg` event carries (cluster.ts), checked by hand: a batch of hundreds of rows
 * through valibot cost ~5 µs a row on every node. Each row exactly BusRow's keys; a body a string of at
 * most 512 KiB (its base64 is checked by the decoding, cluster.ts: a regex cost twice the decoding).
 */
function rowsOk(x: unknown): boolean {
  if (!Array.isArray(x) || x.length > 10_000) return false;
  for (const r of x) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) return false;
    const o = r as Record<string, unknown>;
    const keys = o.expires === undefined ? 8 : 9;
    if (
      Object.keys(o).length !== keys || !isInt(o.seq) || !isStr(o.mid, 200) || !isStr(o.sender, 64, 1) ||
      !KINDS.has(o.kind) || !isStr(o.target, 64) || !isStr(o.conv, 300) || !isInt(o.ts) ||
      !isStr(o.body, 512 * 1024) || (keys === 9 && !isInt(o.expires))
    ) return false;
  }
  return true;
}

const Presence = v.strictObject({
  user: Name,
  addr: Str(200),
  since: Int,
  status: Str(16),
  role: Str(16),
  node: v.optional(Str(200)),
});

const Event = v.variant("t", [
  v.strictObject({
    t: v.literal("msg"),
    seq: Int,
    rows: v.optional(v.custom<BusRow[]>(rowsOk)),
  }),
  v.strictObject({
    t: v.literal("kick"),
    user: Name,
    code: Str(64),
    reason: Str(2000),
    until: v.optional(Int),
    device: v.optional(Int),
  }),
  v.strictObject({
    t: v.literal("presence"),
    users: v.pipe(v.array(Presence), v.maxLength(100_000)),
    stopping: v.optional(v.boolean()),
  }),
  v.strictObject({ t: v.literal("role"), user: Name, role: v.picklist(["admin", "user"]), note: Str(500) }),
  v.strictObject({ t: v.literal("room"), room: Name, users: Users, h: Header }),
  v.strictObject({ t: v.literal("push"), users: v.optional(Users), h: Header }),
  v.strictObject({ t: v.literal("status"), user: Name, status: v.picklist(["busy", "free"]), since: Int }),
  v.strictObject({ t: v.literal("user"), user: Name }),
  v.strictObject({ t: v.literal("route"), ep: Int, users: Users }),
  v.strictObject({ t: v.literal("devices"), user: Name }),
  v.strictObject({
    t: v.literal("stream"),
    op: v.picklist(["offer", "answer", "frame", "stop", "pane"]),
    sid: Str(128),
    h: Header,
    user: v.optional(Name),
    to: v.optional(Str(200)),
    accept: v.optional(v.boolean()),
    body: v.optional(Body),
  }),
  v.strictObject({ t: v.literal("cert"), fingerprint: Str(200) }),
  v.strictObject({
    t: v.literal("file"),
    op: v.picklist(["node", "changed"]),
    fid: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/))),
  }),
  v.strictObject({
    t: v.literal("link"),
    op: v.picklist(["join", "joined", "msg"]),
    channel: Str(128),
    user: v.optional(Name),
    node: v.optional(Str(200)),
    to: v.optional(Str(200)),
    body: v.optional(Body),
  }),
]);

const Envelope = v.strictObject({ from: v.pipe(Str(200), v.minLength(1)), ts: Int, e: Event });

/** The envelope when it has the shape of one (a node id, a time, one known event), else null. */
export function checkEnvelope(x: unknown): { from: string; ts: number; e: BusEvent } | null {
  const r = v.safeParse(Envelope, x);
  return r.success ? r.output as { from: string; ts: number; e: BusEvent } : null;
}
