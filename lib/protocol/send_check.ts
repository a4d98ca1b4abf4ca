/**
 * The hot path of request checking (pure): a `send` header of the usual shape, checked by hand.
 * `quickSend` accepts only what messages.ts's valibot schema of `send` accepts, and answers the
 * same value; anything else — every refusal included — gets null and goes to the schema, which says
 * why with the stable code and text it always has. send_check_test.ts holds the two to each other
 * on random headers.
 */
import { DEVICE_LEN_MAX, DEVICE_RE, DEVICES_MAX, ID_MAX, MID_RE, NAME_MAX, TTL_MAX } from "./bounds.ts";

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isName = (x: unknown): x is string => typeof x === "string" && x.length >= 1 && x.length <= NAME_MAX;
const isInt = (x: unknown, min: number, max: number): x is number =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;

/** `to` as the schema answers it (user, room or broadcast), or null. */
function target(to: unknown): Obj | null {
  if (!isObj(to)) return null;
  let n = 0;
  for (const _ in to) n++;
  const kind = to.kind;
  if (kind === "broadcast") return n === 1 ? { kind } : null;
  if ((kind !== "user" && kind !== "room") || n !== 2 || !isName(to.name)) return null;
  return { kind, name: to.name };
}

function devices(d: unknown): string[] | null {
  if (!Array.isArray(d) || d.length > DEVICES_MAX) return null;
  for (const a of d) {
    if (typeof a !== "string" || a.length > DEVICE_LEN_MAX || !DEVICE_RE.test(a)) return null;
  }
  return d.slice();
}

/** A `send` request the schema would accept, as the schema would answer it; null: ask the schema. */
export function quickSend(h: Obj): Obj | null {
  if (h.t !== "send" || !isInt(h.id, 0, ID_MAX) || typeof h.mid !== "string" || !MID_RE.test(h.mid)) {
    return null;
  }
  const to = target(h.to);
  if (!to) return null;
  const out: Obj = { t: "send", id: h.id, to, mid: h.mid };
  for (const k in h) {
    if (k === "t" || k === "id" || k === "to" || k === "mid") continue;
    const v = h[k];
    if (k === "devices") {
      const d = devices(v);
      if (!d) return null;
      out.devices = d;
    } else if (k === "ephemeral" && v === true) out.ephemeral = true;
    else if (k === "ttl" && isInt(v, 1, TTL_MAX)) out.ttl = v;
    else return null;
  }
  return out;
}
