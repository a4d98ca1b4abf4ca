/**
 * `parley receive` once logged in (registered by cli/files.ts, which documents its fixed output):
 * takes in the offers that arrived while away, waits up to `--timeout` for one (an offer this
 * process files, or a commit of another process of the folder, wakes the wait at once: `waitForOffers`), then accepts and saves each offer the rules take
 * (file_policy: who, how, how big), one `saved PATH SIZE SHA256` line each, each offer tried once a
 * run (one that failed stays offered, said on standard error; a direct-only file whose sender is
 * away is taken again when its sender offers it again, until `--timeout`); having saved only offers
 * the folder knew before it started (not accepted yet), it waits on, until `--timeout`, for a new
 * one; offers left waiting are said at once, with why and the flag that takes them, on standard error (issue 71.15), and room
 * files sent before this user joined (`beforeJoining`). Time is the system clock (lib/common/clock.ts).
 */
import { sanitize } from "../../common/sanitize.ts";
import { normalizeName } from "../../protocol/names.ts";
import { systemClock, systemTimers, type Timers } from "../../common/clock.ts";
import { parseSize } from "../../common/progress.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { InRecord } from "../files/book.ts";
import type { FileTransfers } from "../files/transfers.ts";
import { type AcceptRules, DEFAULT_MAX_SIZE, judgeOffer } from "../files/policy.ts";
import { roomFor, saveFolder } from "../files/disk.ts";
import { type ConnectFlags, resolveTarget } from "../start/session_setup.ts";
import type { CliIo } from "./io.ts";
import { counted } from "../../common/words.ts";

/** A file command's options, with the global connection flags. */
export type FileOpts = ConnectFlags & Record<string, unknown>;

/** A flag taking seconds ≥ 0 (0 when not given). */
export function seconds(v: unknown, flag: string): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new BackendError("usage", `${flag} takes a number of seconds ≥ 0`);
  return n;
}

/** A fixed-contract line of fields joined by one space, each escaped, so it stays one line. */
export const line1 = (...f: unknown[]): string => f.map((x) => sanitize(String(x))).join(" ");

/** An offer not yet saved: offered, or accepted and interrupted. */
export const waiting = (r: InRecord): boolean => r.state === "offered" || r.state === "accepted";

/** Takes in offers that arrived while away (control messages of the offline queue). */
export async function syncOffers(c: ChatClient): Promise<void> {
  await c.sync();
  await c.ack([]); // only the consumed control messages; chat messages stay for `read`
}

/** `--from`, `--from-anyone` and `--max-size` as the rules offers are judged by. */
function acceptRules(o: FileOpts): AcceptRules {
  const from = o.from === undefined ? undefined : normalizeName(String(o.from));
  if (from === null) throw new BackendError("usage", `--from: "${o.from}" is not a valid name`);
  if (from && o.fromAnyone) throw new BackendError("usage", "Use only one of --from and --from-anyone");
  const maxSize = o.maxSize === undefined ? DEFAULT_MAX_SIZE : parseSize(String(o.maxSize));
  if (maxSize === null) throw new BackendError("usage", `--max-size: "${o.maxSize}" is not a size`);
  return { from, anyone: o.fromAnyone === true, maxSize };
}

/**
 * Judges offers by `rules`; an offer left waiting is said at once on standard error, with why and the
 * flag that would take it (once for each reason), and kept in `left` while it stays left.
 */
function offerJudge(io: CliIo, ft: FileTransfers, rules: AcceptRules, dir: string) {
  const left = new Map<string, string>();
  const said = new Set<string>();
  const judge = async (r: InRecord) => {
    const v = judgeOffer(
      rules,
      { ...r, resumed: r.state === "accepted" },
      await ft.ops.verified(r.from),
      await roomFor(dir, r.path && `${r.path}.part`),
    );
    if (v.take) left.delete(r.fid);
    else {
      const why = `left ${r.name} from ${r.from} offered: ${v.why}`;
      left.set(r.fid, why);
      if (!said.has(`${r.fid} ${why}`)) io.err(`parley: ${sanitize(why)}`);
      said.add(`${r.fid} ${why}`);
    }
    return v;
  };
  const mine = async () => {
    const out: InRecord[] = [];
    for (const r of await ft.incoming()) {
      if (waiting(r) && (!rules.from || r.from === rules.from) && (await judge(r)).take) out.push(r);
    }
    return out;
  };
  return { left, judge, mine };
}

/** `receive`: saves every offer the rules take; fails when one could not be saved. */
export async function receiveFiles(io: CliIo, c: ChatClient, ft: FileTransfers, o: FileOpts): Promise<void> {
  const rules = acceptRules(o);
  const dir = o.out === undefined ? `${resolveTarget(o, io.env).home}/downloads` : String(o.out);
  await saveFolder(dir); // before waiting: a file named as the folder is said at once
  const end = systemClock.now() + seconds(o.timeout, "--timeout") * 1000;
  const { left, judge, mine } = offerJudge(io, ft, rules, dir);
  // Offers this folder knew before the run, not accepted yet, are older ones: having saved only those,
  // it still waits (until --timeout) for a new one, the one its user most likely runs it for.
  const known = new Set((await ft.incoming()).filter((r) => r.state === "offered").map((r) => r.fid));
  await syncOffers(c);
  let todo = await mine();
  let fresh = todo.every((r) => !known.has(r.fid));
  /** Waits until `end` for `look` to find an offer: woken by a change to the folder (no poll). */
  const until = (look: () => Promise<InRecord[]>) =>
    waitForOffers((signal) => ft.ops.filed(Infinity, signal), end - systemClock.now(), look);
  if (fresh) todo = await until(mine);
  if (!todo.length) {
    for (const l of await beforeJoining(c, ft)) io.err(l);
    if (!left.size) io.err("No files offered");
    return;
  }
  let failed = 0;
  /** Offers tried in this run: one that failed is not tried again (it stays offered for a later run). */
  const tried = new Set<string>();
  /** Direct-only files whose sender was away: tried again when it offers them again, until --timeout. */
  const back = new Map<string, InRecord>();
  const newOnes = async () => (await mine()).filter((r) => r.state === "offered" && !tried.has(r.fid));
  while (todo.length) {
    for (const r of todo) {
      tried.add(r.fid);
      let direct: boolean | undefined;
      try {
        const v = await judge(r); // again: the files saved before it took room
        if (!v.take) continue;
        direct = v.direct !== false && ft.direct;
        const got = await ft.accept(r, dir, { direct: v.direct });
        io.out(line1("saved", got.path, r.size, got.rec.sha256));
      } catch (e) {
        if (c.conn.closed) throw e;
        const away = e instanceof BackendError && e.code === "direct_only" && direct;
        if (away && systemClock.now() < end) {
          back.set(r.fid, r);
          io.err(`parley: ${sanitize(r.from)} is not sending ${sanitize(r.name)} now; waiting for them`);
          continue;
        }
        failed++;
        io.err(`parley: ${sanitize(e instanceof Error ? e.message : String(e))}`);
      }
    }
    await c.ack([]);
    todo = await newOnes(); // new offers only
    if (!todo.length && back.size) todo = await sentAgain(c, back, end);
    else if (!todo.length && !fresh) (todo = await until(newOnes), fresh = true);
  }
  for (const r of back.values()) {
    failed++;
    io.err(
      `parley: ${sanitize(r.from)} did not send ${
        sanitize(r.name)
      } in time; it stays accepted for a later run`,
    );
  }
  if (failed) throw new BackendError("file_failed", `${counted(failed, "file")} not saved`);
}

/**
 * The first of `back` its sender offers again (a direct-only send that waits: files/channel.ts
 * "file.again"), taken out of `back`; none by `end` (wall time): [].
 */
function sentAgain(c: ChatClient, back: Map<string, InRecord>, end: number): Promise<InRecord[]> {
  return new Promise((resolve) => {
    const t = setTimeout(() => (off(), resolve([])), Math.max(0, end - systemClock.now()));
    const off = c.on((e) => {
      const r = e.type === "file.again" ? back.get(e.fid) : undefined;
      if (!r) return;
      clearTimeout(t);
      off();
      back.delete(r.fid);
      resolve([r]);
    });
  });
}

/**
 * Room files the server lets this user read that no offer here names (issue 36): sent before they
 * joined the room. By design, like the room's older messages, they were not offered to them: one
 * line each says so, and whom to ask.
 */
export async function beforeJoining(c: Pick<ChatClient, "user">, ft: FileTransfers): Promise<string[]> {
  const known = new Set((await ft.incoming()).map((r) => r.fid));
  return (await ft.serverFiles())
    .filter((f) => f.room && f.from !== c.user && f.state === "ready" && !known.has(f.fid))
    .map((f) =>
      `parley: ${sanitize(f.from)} sent a file to #${sanitize(f.to)} before you joined it; ` +
      `it was not offered to you (ask ${sanitize(f.from)} to send it again)`
    );
}

/**
 * The offers `mine` finds, waiting `ms` (on `timers`) for the first one. It looks again only when
 * something may have changed: this process filed an offer, or another process of the folder
 * committed (`changed`: files/channel.ts `filed` — the offer handler's `wake`, and the folder's one
 * change signal, session/local_store.ts `nextForeign`), heard from before each look so a change
 * while looking is not missed; and once more when the time is up. No poll of its own.
 */
export async function waitForOffers(
  changed: (signal: AbortSignal) => Promise<void>,
  ms: number,
  mine: () => Promise<InRecord[]>,
  timers: Timers = systemTimers,
): Promise<InRecord[]> {
  if (ms <= 0) return await mine();
  const over = new AbortController();
  const t = timers.set(() => over.abort(), ms);
  try {
    for (;;) {
      const look = new AbortController();
      const next = changed(AbortSignal.any([over.signal, look.signal])); // listening before the look
      try {
        const todo = await mine();
        if (todo.length || over.signal.aborted) return todo;
        await next;
      } finally {
        look.abort();
      }
    }
  } finally {
    timers.clear(t);
  }
}
