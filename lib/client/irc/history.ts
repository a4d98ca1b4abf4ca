/**
 * `draft/chathistory` (issue 72) on the server's history: each CHATHISTORY subcommand — LATEST,
 * BEFORE, AFTER, AROUND, BETWEEN (a reference is `*` for LATEST, `timestamp=ISO` or `msgid=ID`) and
 * TARGETS — read through the backend's history pages (core/history_pages.ts `pagesUntil`: only the
 * pages a question needs, under the paging rules' one home) and answered in a `chathistory` batch of
 * the messages as events.ts makes them (server-time, msgid); at most HISTORY_LIMIT a request
 * (ISUPPORT CHATHISTORY). Bad input is a FAIL CHATHISTORY with the spec's codes: NEED_MORE_PARAMS,
 * INVALID_PARAMS, INVALID_MSGREFTYPE, INVALID_TARGET, MESSAGE_ERROR. A client that negotiated it gets
 * no automatic playback (face.ts).
 */
import {
  BackendError,
  type ChatMessage,
  type HistoryPage,
  type HistoryQuery,
  type Target,
} from "../backend.ts";
import { pagesUntil } from "../core/history_pages.ts";
import type { IrcMessage } from "./codec.ts";
import type { IrcConn } from "./conn.ts";
import { HISTORY_LIMIT, SERVER } from "./conn.ts";
import { messageLines } from "./events.ts";
import type { FaceHost } from "./face_host.ts";
import { parleyTarget } from "./names.ts";
import { channels } from "./chan.ts";

/** Pages one question may read (each at most PAGE messages). */
const MAX_PAGES = 50;
const PAGE = 200;
/** How far before a msgid reference's time a walk after it starts (clocks of a cluster's nodes), ms. */
const SLACK_MS = 60_000;

type Ref = { kind: "none" } | { kind: "time"; ts: number } | { kind: "msgid"; id: string };
/** A reference found: its time, and its seq when it names a message. */
type Point = { ts: number; seq?: number };
type Fail = (code: string, why: string) => void;

/** The subcommands: how many parameters after the subcommand each needs. */
const ARITY: Record<string, number> = { LATEST: 3, BEFORE: 3, AFTER: 3, AROUND: 3, BETWEEN: 4, TARGETS: 3 };

/** `CHATHISTORY SUB …` from client `c`: a batch of lines, or a FAIL. */
export async function chathistory(f: FaceHost, c: IrcConn, p: string[]): Promise<void> {
  const sub = (p[0] ?? "").toUpperCase();
  const fail: Fail = (code, why) =>
    c.send({
      tags: {},
      source: SERVER,
      command: "FAIL",
      params: ["CHATHISTORY", code, ...p.slice(0, 2), why],
    });
  const arity = ARITY[sub];
  if (arity === undefined) return fail("INVALID_PARAMS", `${sub || "?"} is not a CHATHISTORY subcommand`);
  if (p.length - 1 < arity) return fail("NEED_MORE_PARAMS", "Missing parameters");
  const limit = Number(p[arity]);
  if (!Number.isInteger(limit) || limit < 1) {
    return fail("INVALID_PARAMS", "The limit is a whole number above 0");
  }
  const n = Math.min(limit, HISTORY_LIMIT);
  const refs = sub === "TARGETS" ? [p[1]!, p[2]!] : p.slice(2, arity);
  const parsed: Ref[] = [];
  for (const r of refs) {
    const x = ref(r, sub === "LATEST");
    if (typeof x === "string") return fail(x, `Bad reference "${r}"`);
    parsed.push(x);
  }
  try {
    if (sub === "TARGETS") return await targets(f, c, parsed, n, fail);
    const t = parleyTarget(p[1]!);
    if (!t) return fail("INVALID_TARGET", "Messages could not be retrieved");
    const points: (Point | null)[] = [];
    for (const r of parsed) {
      const pt = await resolve(f, t, r);
      if (pt === undefined) {
        return fail("INVALID_PARAMS", `No message ${refs[points.length]} in this conversation`);
      }
      points.push(pt);
    }
    const out = await select(f, t, sub, points, n);
    batch(c, ["chathistory", p[1]!], out.flatMap((m) => messageLines(m, f.account)));
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    const gone = /no_such|not_member|not_in_room|unknown/.test(e.code);
    fail(gone ? "INVALID_TARGET" : "MESSAGE_ERROR", e.message);
  }
}

/** A reference, or the FAIL code of a bad one (`*` only where `star`). */
function ref(s: string, star: boolean): Ref | string {
  if (s === "*") return star ? { kind: "none" } : "INVALID_PARAMS";
  const m = /^([^=]+)=(.+)$/.exec(s);
  if (!m) return "INVALID_PARAMS";
  if (m[1] === "msgid") return { kind: "msgid", id: m[2]! };
  if (m[1] !== "timestamp") return "INVALID_MSGREFTYPE";
  const ts = new Date(m[2]!).getTime();
  return Number.isNaN(ts) ? "INVALID_PARAMS" : { kind: "time", ts };
}

/** The page reader of `f`'s backend for `t`. */
function pages(f: FaceHost, t: Target): (q: HistoryQuery) => Promise<HistoryPage> {
  const remote = f.backend.remote;
  if (!remote) throw new BackendError("unsupported", "This client cannot read the server's history");
  return (q) => remote.historyPage(t, q);
}

/** The messages of `t` (oldest first) that `keep`, reading pages newest first until `enough` of them. */
async function walk(
  f: FaceHost,
  t: Target,
  q: HistoryQuery,
  keep: (m: ChatMessage) => boolean,
  enough: (kept: number) => boolean,
): Promise<ChatMessage[]> {
  let kept = 0;
  const all = await pagesUntil(pages(f, t), { ...q, limit: PAGE }, (newestFirst) => {
    kept += newestFirst[newestFirst.length - 1]!.filter(keep).length;
    return enough(kept) || newestFirst.length >= MAX_PAGES;
  });
  return all.messages.filter(keep);
}

/** A reference's point; undefined: its msgid is not in the conversation's history. */
async function resolve(f: FaceHost, t: Target, r: Ref): Promise<Point | undefined | null> {
  if (r.kind === "none") return null;
  if (r.kind === "time") return { ts: r.ts };
  const hit = (await walk(f, t, {}, (m) => m.mid === r.id, (k) => k > 0))[0];
  return hit ? { ts: hit.ts, seq: hit.seq } : undefined;
}

const after = (m: ChatMessage, pt: Point) => (pt.seq !== undefined ? m.seq > pt.seq : m.ts > pt.ts);
const before = (m: ChatMessage, pt: Point) => (pt.seq !== undefined ? m.seq < pt.seq : m.ts < pt.ts);
/** The `since` that covers every message after `pt`. */
const sinceOf = (pt: Point): HistoryQuery => ({ since: pt.seq !== undefined ? pt.ts - SLACK_MS : pt.ts });
/** The `before` that skips the pages after a msgid's message. */
const beforeOf = (pt: Point): HistoryQuery => (pt.seq !== undefined ? { before: pt.seq } : {});

/** The messages a subcommand answers with, oldest first, at most `n`. */
async function select(f: FaceHost, t: Target, sub: string, pts: (Point | null)[], n: number) {
  const [a, b] = pts;
  const newest = (xs: ChatMessage[]) => xs.slice(-n);
  if (sub === "LATEST") {
    if (!a) return newest(await walk(f, t, {}, () => true, (k) => k >= n));
    return newest(await walk(f, t, sinceOf(a), (m) => after(m, a), (k) => k >= n));
  }
  if (sub === "BEFORE") return newest(await walk(f, t, beforeOf(a!), (m) => before(m, a!), (k) => k >= n));
  if (sub === "AFTER") return (await walk(f, t, sinceOf(a!), (m) => after(m, a!), () => false)).slice(0, n);
  if (sub === "AROUND") {
    const half = n >> 1; // the older half before it, the rest from it on
    const lower = half
      ? (await walk(f, t, beforeOf(a!), (m) => before(m, a!), (k) => k >= half)).slice(-half)
      : [];
    const upper = await walk(f, t, sinceOf(a!), (m) => !before(m, a!), () => false);
    return [...lower, ...upper.slice(0, n - lower.length)];
  }
  // BETWEEN: strictly between the two, the oldest n counted from the first when it is the earlier, else the newest n.
  const [lo, hi] = a!.ts < b!.ts || (a!.ts === b!.ts && (a!.seq ?? 0) <= (b!.seq ?? 0)) ? [a!, b!] : [b!, a!];
  const xs = await walk(
    f,
    t,
    { ...sinceOf(lo), ...beforeOf(hi) },
    (m) => after(m, lo) && before(m, hi),
    () => false,
  );
  return lo === a ? xs.slice(0, n) : newest(xs);
}

/** TARGETS: the conversations with messages between the two times, each with its newest one's time. */
async function targets(f: FaceHost, c: IrcConn, [a, b]: Ref[], n: number, fail: Fail): Promise<void> {
  if (a!.kind !== "time" || b!.kind !== "time") return fail("INVALID_PARAMS", "TARGETS takes two timestamps");
  const [lo, hi] = a!.ts < b!.ts ? [a!.ts, b!.ts] : [b!.ts, a!.ts];
  const names = [...(await channels(f.backend)).map((ch) => ch.name), ...f.queries];
  const rows: [number, string][] = [];
  for (const name of names) {
    const t = parleyTarget(name);
    if (!t) continue;
    const xs = await walk(f, t, { since: lo }, (m) => m.ts > lo && m.ts < hi, (k) => k > 0);
    const last = xs.at(-1);
    if (last) rows.push([last.ts, name]);
  }
  rows.sort((x, y) => x[0] - y[0]);
  const lines: IrcMessage[] = rows.slice(0, n).map(([ts, name]) => ({
    tags: {},
    source: SERVER,
    command: "CHATHISTORY",
    params: ["TARGETS", name, `timestamp=${new Date(ts).toISOString()}`],
  }));
  batch(c, ["draft/chathistory-targets"], lines);
}

let batches = 0;

/** Lines in a batch of `kind` (plain lines to a client without batch). */
function batch(c: IrcConn, kind: string[], lines: IrcMessage[]): void {
  const id = c.caps.has("batch") ? `h${++batches}` : null;
  if (id) c.send({ tags: {}, source: SERVER, command: "BATCH", params: [`+${id}`, ...kind] });
  for (const l of lines) c.send(id ? { ...l, tags: { ...l.tags, batch: id } } : l);
  if (id) c.send({ tags: {}, source: SERVER, command: "BATCH", params: [`-${id}`] });
}
