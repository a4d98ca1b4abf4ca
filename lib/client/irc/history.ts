/**
 * `draft/chathistory` (issue 72): the face's memory of each conversation's recent lines (what the
 * session showed at start — the backend's catch-up — and everything since, at most PER_TARGET lines
 * a conversation, in memory only), and the CHATHISTORY command on it: LATEST, BEFORE, AFTER, BETWEEN
 * (a reference is `*`, `timestamp=ISO` or `msgid=ID`) and TARGETS, each answered in a `chathistory`
 * batch; anything else is a FAIL. A client that negotiated it gets no automatic playback (face.ts).
 */
import type { IrcMessage } from "./codec.ts";
import type { IrcConn } from "./conn.ts";
import { HISTORY_LIMIT, SERVER } from "./conn.ts";

/** Lines kept per conversation. */
const PER_TARGET = 1000;

type Ref = { kind: "none" } | { kind: "time"; at: string } | { kind: "msgid"; id: string };

export class HistoryLog {
  #by = new Map<string, IrcMessage[]>();
  #batches = 0;

  /** `me`: the user's nick (a DM to it is kept under its sender's nick). */
  constructor(readonly me: string) {}

  /** Keeps the lines of a conversation that carry a time and a msgid (texts, not notices of the face). */
  add(lines: IrcMessage[]): void {
    for (const l of lines) {
      if (!l.tags.time || !l.tags.msgid || (l.command !== "PRIVMSG" && l.command !== "NOTICE")) continue;
      const to = l.params[0]!.toLowerCase();
      const key = to === this.me.toLowerCase() ? (l.source ?? "").split("!")[0]!.toLowerCase() : to;
      const list = this.#by.get(key) ?? [];
      if (list.some((x) => x.tags.msgid === l.tags.msgid)) continue;
      list.push(l);
      list.sort((a, b) => (a.tags.time! < b.tags.time! ? -1 : a.tags.time! > b.tags.time! ? 1 : 0));
      if (list.length > PER_TARGET) list.splice(0, list.length - PER_TARGET);
      this.#by.set(key, list);
    }
  }

  /** `CHATHISTORY SUB …` from client `c`. */
  run(c: IrcConn, p: string[]): void {
    const sub = (p[0] ?? "").toUpperCase();
    const fail = (code: string, why: string) =>
      c.send({
        tags: {},
        source: SERVER,
        command: "FAIL",
        params: ["CHATHISTORY", code, ...p.slice(0, 1), why],
      });
    if (sub === "TARGETS") return this.#targets(c, p, fail);
    const target = p[1], limit = Number(p[sub === "BETWEEN" ? 4 : 3]);
    const a = ref(p[2]), b = sub === "BETWEEN" ? ref(p[3]) : null;
    if (!target || !a || (sub === "BETWEEN" && !b) || !(limit > 0)) {
      return fail("INVALID_PARAMS", "Bad parameters");
    }
    const list = this.#by.get(target.toLowerCase()) ?? [];
    const n = Math.min(limit, HISTORY_LIMIT);
    let out: IrcMessage[];
    if (sub === "LATEST") out = list.filter((l) => after(l, a, list)).slice(-n);
    else if (sub === "BEFORE") out = list.filter((l) => before(l, a, list)).slice(-n);
    else if (sub === "AFTER") out = list.filter((l) => after(l, a, list)).slice(0, n);
    else if (sub === "BETWEEN") {
      out = list.filter((l) => after(l, a, list) && before(l, b!, list)).slice(0, n);
    } else return fail("INVALID_PARAMS", `${sub || "?"} is not a CHATHISTORY subcommand this server knows`);
    this.#batch(c, ["chathistory", target], out);
  }

  #targets(c: IrcConn, p: string[], fail: (code: string, why: string) => void): void {
    const [a, b] = [ref(p[1]), ref(p[2])], limit = Number(p[3]);
    if (a?.kind !== "time" || b?.kind !== "time" || !(limit > 0)) {
      return fail("INVALID_PARAMS", "Bad parameters");
    }
    const [lo, hi] = a.at < b.at ? [a.at, b.at] : [b.at, a.at];
    const rows: IrcMessage[] = [];
    for (const [target, list] of this.#by) {
      const last = list.at(-1)?.tags.time;
      if (last && last > lo && last < hi) {
        rows.push({
          tags: {},
          source: SERVER,
          command: "CHATHISTORY",
          params: ["TARGETS", target, `timestamp=${last}`],
        });
      }
    }
    this.#batch(c, ["draft/chathistory-targets"], rows.slice(0, Math.min(limit, HISTORY_LIMIT)));
  }

  #batch(c: IrcConn, kind: string[], lines: IrcMessage[]): void {
    const id = c.caps.has("batch") ? `h${++this.#batches}` : null;
    if (id) c.send({ tags: {}, source: SERVER, command: "BATCH", params: [`+${id}`, ...kind] });
    for (const l of lines) c.send(id ? { ...l, tags: { ...l.tags, batch: id } } : l);
    if (id) c.send({ tags: {}, source: SERVER, command: "BATCH", params: [`-${id}`] });
  }
}

function ref(s: string | undefined): Ref | null {
  if (s === "*") return { kind: "none" };
  const m = /^(timestamp|msgid)=(.+)$/.exec(s ?? "");
  if (!m) return null;
  if (m[1] === "msgid") return { kind: "msgid", id: m[2]! };
  const t = new Date(m[2]!);
  return Number.isNaN(t.getTime()) ? null : { kind: "time", at: t.toISOString() };
}

/** The time a reference stands for in `list` (a msgid not held: none). */
function timeOf(r: Ref, list: IrcMessage[]): string | null {
  if (r.kind === "time") return r.at;
  if (r.kind === "msgid") return list.find((l) => l.tags.msgid === r.id)?.tags.time ?? null;
  return null;
}

function after(l: IrcMessage, r: Ref, list: IrcMessage[]): boolean {
  if (r.kind === "none") return true;
  const t = timeOf(r, list);
  return t !== null && l.tags.time! > t;
}

function before(l: IrcMessage, r: Ref, list: IrcMessage[]): boolean {
  if (r.kind === "none") return true;
  const t = timeOf(r, list);
  return t !== null && l.tags.time! < t;
}
