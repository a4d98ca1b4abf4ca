/**
 * What `read`, `read --follow` and `search` share (messages.ts, read_follow.ts): the conversation
 * flags (`--from`, `--room`, `--broadcast`: at most one), `--since` in the grammar of the TUI's
 * `/history`, whether a message belongs to the conversation asked for, and a message as `--json`
 * prints it.
 */
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";
import { isoSeconds, parseSince } from "../../common/parse_time.ts";
import { formatTarget } from "./io.ts";
import { actionOf } from "../core/action.ts";

type Opts = Record<string, unknown>;

/** One message as `read --json` prints it. */
export function messageJson(m: ChatMessage): Record<string, unknown> {
  return {
    seq: m.seq,
    id: m.mid,
    time: isoSeconds(m.ts),
    from: m.from,
    to: formatTarget(m.to),
    text: m.text,
    ...(actionOf(m.text) !== null ? { action: true } : {}),
    ...(m.replyTo ? { reply_to: m.replyTo } : {}),
    ...(m.replyTo && m.replyBy ? { reply_by: m.replyBy } : {}), // its sender (issue 69 N2)
    ...(m.edited !== undefined ? { edited: isoSeconds(m.edited) } : {}),
    ...(m.deleted ? { deleted: true } : {}),
    ...(m.reactions ? { reactions: m.reactions } : {}),
    ...(m.expires !== undefined ? { expires: isoSeconds(m.expires) } : {}),
  };
}

/** `--from`, `--room`, `--broadcast`: one conversation (at most one of them), or none. */
export function filterFlags(o: Opts): Target | undefined {
  const picked = [o.from, o.room, o.broadcast].filter((x) => x !== undefined).length;
  if (picked > 1) throw new BackendError("usage", "Use only one of --from, --room and --broadcast");
  return o.from
    ? { kind: "user", name: canonical(String(o.from), "--from") }
    : o.room
    ? { kind: "room", name: canonical(String(o.room), "--room") }
    : o.broadcast
    ? { kind: "broadcast" }
    : undefined;
}

/** `--since`: the grammar of the TUI's /history (lib/common/parse_time.ts). */
export function sinceFlag(s: string | undefined, now: number): number | undefined {
  if (s === undefined) return undefined;
  try {
    return parseSince(s, now);
  } catch (e) {
    throw new BackendError("bad_time", (e as Error).message);
  }
}

/** The one name rule (lib/protocol/names.ts), as a usage error for a flag. */
function canonical(raw: string, flag: string): string {
  const n = normalizeName(raw);
  if (!n) throw new BackendError("usage", `${flag}: "${raw}" is not a valid name`);
  return n;
}

/** Whether `m` belongs to conversation `f` (seen from `me`; none: every message does). */
export function matches(me: string, m: ChatMessage, f?: Target): boolean {
  if (!f) return true;
  if (f.kind !== m.to.kind) return false;
  if (f.kind === "broadcast") return true;
  if (f.kind === "room") return m.to.name === f.name;
  return m.from === f.name || (m.from === me && m.to.name === f.name);
}
