/**
 * The room membership log: who is in a room is decided by this hash-chained, epoch-numbered list
 * of changes signed by room admins, verified on every client; the server only stores and relays
 * the entries. Epoch 0 is "create" signed by the creator (who is the first admin, with the
 * members in `target`, comma-separated); every later entry has epoch = previous + 1, `prev` =
 * SHA-256 of the previous entry's signed bytes, `at` not earlier than the previous entry's and
 * not more than MAX_SKEW_MS in the future, and is signed by a room admin of the state before it
 * ("add", "remove", "grant", "revoke", and "open" / "close" with an empty target: whether anyone may
 * join by themself) or, for "leave", by the member who leaves, and for "join" (a self-join, target =
 * by) by the joiner, accepted only while the state before it is open: a server that appends a join to
 * a closed room, or an "open" not signed by an admin, is refused on every client. A room is closed
 * at creation. When the last admin leaves, the longest-standing member becomes admin.
 *
 * Signed bytes: "parley-room-log-v1\0" ‖ lp(room, action, target, by, prev) ‖ u32be(epoch) ‖ f64be(at)
 *
 * `verifyLog()` never throws for bad input: it returns `{ ok: false, error }` with one sentence.
 * `recipientsOf()` is the one place that turns log members into sender-key recipients.
 */

import { concatBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import type { IdentityKeyPair } from "./identity.ts";
import { ed25519Sign, ed25519Verify, lp, sha256, u32be } from "./primitives.ts";

export type LogAction =
  | "create"
  | "add"
  | "remove"
  | "leave"
  | "grant"
  | "revoke"
  | "open"
  | "close"
  | "join";
/** Every action of a log entry (the wire's schema, lib/protocol/messages.ts, lists the same). */
export const LOG_ACTIONS: readonly LogAction[] = [
  "create",
  "add",
  "remove",
  "leave",
  "grant",
  "revoke",
  "open",
  "close",
  "join",
];
const ACTIONS: readonly string[] = LOG_ACTIONS;
/** How far in the future an entry's `at` may be (clock skew between clients). */
export const MAX_SKEW_MS = 5 * 60_000;
const MAX_MEMBERS = 1001; // room.create's 1000 plus the creator

export interface LogEntry {
  room: string;
  epoch: number;
  /** base64 SHA-256 of the previous entry's signed bytes; "" for epoch 0 */
  prev: string;
  action: LogAction;
  /** the user concerned; for "create" the sorted members, comma-separated */
  target: string;
  by: string;
  /** ms since epoch */
  at: number;
  /** base64 Ed25519 identity key of `by` */
  signer: string;
  sig: string;
}

/**
 * A verified room state. `head` is the base64 hash of the last entry's signed bytes; `members`
 * are in joining order (creation members sorted, then each add).
 */
export interface LogState {
  room: string;
  epoch: number;
  head: string;
  at: number;
  members: string[];
  admins: string[];
  /** True while the log says anyone may join by themself (an admin's "open", until a "close"). */
  open: boolean;
}

export type LogResult = { ok: true; state: LogState } | { ok: false; error: string };

/** Resolves a user's trusted Ed25519 identity key (base64), e.g. the pinned contact key. */
export type SignKeyOf = (user: string) => Promise<string | undefined>;

const CONTEXT = utf8.encode("parley-room-log-v1\0");

type Unsigned = Omit<LogEntry, "signer" | "sig">;

function signedBytes(e: Unsigned): Uint8Array {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setFloat64(0, e.at);
  const s = [e.room, e.action, e.target, e.by, e.prev].map((x) => utf8.encode(x));
  return concatBytes([CONTEXT, lp(s), u32be(e.epoch), at]);
}

async function hashOf(e: Unsigned): Promise<string> {
  return toBase64(await sha256(signedBytes(e)));
}

/** Signs the next entry after `state` (or the genesis entry when `state` is null). */
export async function signEntry(
  me: IdentityKeyPair,
  state: LogState | null,
  e: { room: string; action: LogAction; target: string; by: string; at: number },
): Promise<LogEntry> {
  const u: Unsigned = { ...e, epoch: state ? state.epoch + 1 : 0, prev: state ? state.head : "" };
  const sig = await ed25519Sign(fromBase64(me.sign.priv), signedBytes(u));
  return { ...u, signer: me.sign.pub, sig: toBase64(sig) };
}

/** Shape check of one entry from the network (also what the server checks). */
export function isLogEntry(x: unknown): x is LogEntry {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const e = x as Record<string, unknown>;
  const str = (k: string, max: number) => typeof e[k] === "string" && (e[k] as string).length <= max;
  return str("room", 64) && str("prev", 44) && str("target", 34000) && str("by", 64) &&
    str("signer", 44) && str("sig", 88) && typeof e.action === "string" && ACTIONS.includes(e.action) &&
    Number.isInteger(e.epoch) && (e.epoch as number) >= 0 && (e.epoch as number) <= 0xffffffff &&
    typeof e.at === "number" && Number.isFinite(e.at) && Object.keys(e).length === 9;
}

function fail(error: string): LogResult {
  return { ok: false, error };
}

/** Who is in, who is admin and whether anyone may join, as an entry's rules change them. */
interface Roll {
  members: string[];
  admins: string[];
  open: boolean;
}

/** The genesis entry's roll, or why it is refused. */
function genesisRoll(e: LogEntry, where: string): Roll | string {
  if (e.action !== "create") return `${where} does not start the room`;
  const members = [...new Set(e.target.split(","))].sort();
  if (!members.includes(e.by) || members.length > MAX_MEMBERS || members.includes("")) {
    return `${where} has a bad member list`;
  }
  return { members, admins: [e.by], open: false };
}

/**
 * The entries a member signs for themself: "leave" (any member), "join" (a self-join: only while the
 * log says the room is open; target = by, not yet a member). Null when `e` is neither.
 */
function ownRoll(s: LogState, e: LogEntry, where: string): Roll | string | null {
  const { members, admins, open } = s;
  if (e.action === "leave") {
    if (e.target !== e.by || !members.includes(e.by)) return `${where} is a leave by a non-member`;
    const rest = members.filter((m) => m !== e.by);
    let heirs = admins.filter((m) => m !== e.by);
    // The last admin left: the longest-standing member becomes admin (as the server does).
    if (heirs.length === 0 && rest.length > 0) heirs = [rest[0]!];
    return { members: rest, admins: heirs, open };
  }
  if (e.action !== "join") return null;
  if (!open) return `${where} is a self-join while #${e.room} is not open`;
  if (e.target !== e.by || members.includes(e.by) || !e.by || e.by.includes(",")) {
    return `${where} is a self-join by a member or for someone else`;
  }
  return { members: [...members, e.by], admins, open };
}

/** The entries only an admin of the state before signs: add, remove, grant, revoke, open, close. */
function adminRoll(s: LogState, e: LogEntry, where: string): Roll | string {
  const { members, admins, open } = s;
  if (!admins.includes(e.by)) return `${where} is signed by ${e.by}, who is not an admin of #${e.room}`;
  const has = members.includes(e.target);
  switch (e.action) {
    case "add":
      if (has || !e.target || e.target.includes(",")) return `${where} adds a bad member`;
      return { members: [...members, e.target], admins, open };
    case "remove":
      if (!has || e.target === e.by) return `${where} removes a non-member`;
      return {
        members: members.filter((m) => m !== e.target),
        admins: admins.filter((m) => m !== e.target),
        open,
      };
    case "grant":
      if (!has || admins.includes(e.target)) return `${where} grants a bad member`;
      return { members, admins: [...admins, e.target].sort(), open };
    case "revoke":
      if (!admins.includes(e.target)) return `${where} revokes a non-admin`;
      return { members, admins: admins.filter((m) => m !== e.target), open };
    default: // "open" | "close": the target is empty
      if (e.target !== "" || open === (e.action === "open")) {
        return `${where} ${e.action === "open" ? "opens a room already open" : "closes a room not open"}`;
      }
      return { members, admins, open: e.action === "open" };
  }
}

/** The roll after `e` (null state: the genesis), or why `e` is refused; its signature is checked apart. */
function rollOf(state: LogState | null, e: LogEntry, where: string): Roll | string {
  if (!state) return genesisRoll(e, where);
  if (e.action === "create") return `${where} creates the room again`;
  return ownRoll(state, e, where) ?? adminRoll(state, e, where);
}

/** True when `e`'s signature checks out under its `signer`. */
async function goodSignature(e: LogEntry): Promise<boolean> {
  try {
    return await ed25519Verify(fromBase64(e.signer), signedBytes(e), fromBase64(e.sig));
  } catch {
    return false;
  }
}

/** Applies one entry to `state` (null: the entry must be the genesis), checking everything. */
export async function applyEntry(
  state: LogState | null,
  x: unknown,
  signKeyOf: SignKeyOf,
  now: number,
): Promise<LogResult> {
  if (!isLogEntry(x)) return fail("a membership change is malformed");
  const e = x;
  const where = `#${e.room} change ${e.epoch}`;
  if (state && e.room !== state.room) return fail(`${where} belongs to another room`);
  const want = state ? state.epoch + 1 : 0;
  if (e.epoch !== want) return fail(`${where} is out of order (expected epoch ${want}): stale or replayed`);
  if (e.prev !== (state ? state.head : "")) return fail(`${where} does not follow the previous change`);
  if (state && e.at < state.at) return fail(`${where} is older than the change before it`);
  if (e.at > now + MAX_SKEW_MS) return fail(`${where} is dated in the future`);
  const roll = rollOf(state, e, where);
  if (typeof roll === "string") return fail(roll);
  const key = await signKeyOf(e.by).catch(() => undefined);
  if (!key || key !== e.signer) return fail(`${where} is not signed with ${e.by}'s identity key`);
  if (!(await goodSignature(e))) return fail(`${where} has a bad signature`);
  return { ok: true, state: { room: e.room, epoch: e.epoch, head: await hashOf(e), at: e.at, ...roll } };
}

/**
 * Verifies a whole chain from genesis. `known` (the last state this client accepted) must be a
 * prefix: the chain may not be shorter or fork from it (a rollback by the server is refused).
 */
export async function verifyLog(
  room: string,
  entries: unknown,
  signKeyOf: SignKeyOf,
  now: number,
  known?: { epoch: number; head: string },
): Promise<LogResult> {
  if (!Array.isArray(entries) || entries.length === 0) return fail(`#${room} has no membership log`);
  let state: LogState | null = null;
  for (const e of entries) {
    const r: LogResult = await applyEntry(state, e, signKeyOf, now);
    if (!r.ok) return r;
    state = r.state;
    if (known && state.epoch === known.epoch && state.head !== known.head) {
      return fail(`#${room}'s membership log differs from the one accepted before`);
    }
  }
  if (state!.room !== room) return fail(`the membership log given for #${room} is another room's`);
  if (known && state!.epoch < known.epoch) return fail(`#${room}'s membership log was rolled back`);
  return { ok: true, state: state! };
}

/** True when two member lists hold the same users. */
export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
}

/** Sender-key recipients of a verified state: today its member users (later: their devices). */
export function recipientsOf(state: LogState): string[] {
  return [...state.members];
}
