/**
 * The hot path of request checking (pure): a `send` header of the usual shape, checked by hand.
 * `quickSend` accepts only what messages.ts's valibot schema of `send` accepts, and answers the
 * same value (the header itself); anything else — every refusal included — gets null and goes to the schema, which says
 * why with the stable code and text it always has. send_check_test.ts holds the two to each other
 * on random headers.
 */
import { DEVICE_LEN_MAX, DEVICE_RE, DEVICES_MAX, ID_MAX, MID_RE, NAME_MAX, TTL_MAX } from "./bounds.ts";

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isName = (x: unknown): x is string => typeof x === "string" && x.length >= 1 && x.length <= NAME_MAX;
const isInt = (x: unknown, min: number, max: number): x is number =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;

/** Whether `to` is a target the schema takes as it is (user, room or broadcast, no other key). */
function target(to: unknown): boolean {
  if (!isObj(to)) return false;
  let n = 0;
  for (const _ in to) n++;
  const kind = to.kind;
  if (kind === "broadcast") return n === 1;
  return (kind === "user" || kind === "room") && n === 2 && isName(to.name);
}

/** Whether `d` is a devices list the schema takes as it is. */
function devices(d: unknown): boolean {
  if (!Array.isArray(d) || d.length > DEVICES_MAX) return false;
  for (const a of d) {
    if (typeof a !== "string" || a.length > DEVICE_LEN_MAX || !DEVICE_RE.test(a)) return false;
  }
  return true;
}

/**
 * A `send` request the schema would accept, as the schema would answer it: `h` itself (a header
 * just parsed, the caller's to keep: issue 37, no copy of it and its `to` per send); null: ask the
 * schema.
 */
export function quickSend(h: Obj): Obj | null {
  if (h.t !== "send" || !isInt(h.id, 0, ID_MAX) || typeof h.mid !== "string" || !MID_RE.test(h.mid)) {
    return null;
  }
  if (!target(h.to)) return null;
  for (const k in h) {
    if (k === "t" || k === "id" || k === "to" || k === "mid") continue;
    if (!allowedKey(k, h[k])) return null;
  }
  return h;
}

/** Whether `v` is what the schema takes for a send's optional key `k` (any other key: no). */
function allowedKey(k: string, v: unknown): boolean {
  if (k === "devices") return devices(v);
  if (k === "ephemeral") return v === true;
  return k === "ttl" && isInt(v, 1, TTL_MAX);
}
