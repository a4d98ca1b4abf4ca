import assert from "node:assert/strict";
import { BackendError, type ChatMessage, type HistoryPage, type HistoryQuery } from "../backend.ts";
import { everyPage, pagesUntil, unreadableLine } from "./history_pages.ts";

const room = { kind: "room" as const, name: "r" };
const msg = (seq: number): ChatMessage => ({
  seq,
  mid: `m${seq}`,
  ts: seq * 1000,
  from: "bob",
  to: room,
  text: `${seq}`,
});

/**
 * A server's pages over seqs 1..n (ts = seq s), the newest `size` before `before` since `since`, as
 * ChatClient.historyPage answers them: the seqs in `unreadable` sent but not opened. Records each query.
 */
function server(n: number, size = 1000, unreadable = new Set<number>()) {
  const asked: HistoryQuery[] = [];
  const page = (q: HistoryQuery): Promise<HistoryPage> => {
    asked.push(q);
    const top = Math.min(n + 1, q.before ?? Infinity);
    const low = Math.max(1, top - size, Math.ceil((q.since ?? 0) / 1000));
    const seqs = Array.from({ length: Math.max(0, top - low) }, (_, i) => low + i);
    return Promise.resolve({
      messages: seqs.filter((s) => !unreadable.has(s)).map(msg),
      count: seqs.length,
      oldest: seqs[0] ?? null,
      unreadable: seqs.filter((s) => unreadable.has(s)).length,
    });
  };
  return { asked, page };
}

Deno.test("everyPage reads a 5,000-message conversation page by page, each before the last's oldest, oldest first", async () => {
  const s = server(5000, 1000, new Set([1, 2500, 4999]));
  const all = await everyPage(s.page);
  assert.equal(all.messages.length, 4997, "every message opened, none twice");
  assert.deepEqual(all.messages.slice(0, 2).map((m) => m.seq), [2, 3]);
  assert.equal(all.messages.at(-1)!.seq, 5000);
  assert.ok(all.messages.every((m, i) => i === 0 || m.seq > all.messages[i - 1]!.seq), "oldest to newest");
  assert.deepEqual([all.count, all.unreadable, all.pages, all.oldest], [5000, 3, 6, 1]);
  assert.deepEqual(
    s.asked.map((q) => q.before),
    [undefined, 4001, 3001, 2001, 1001, 1],
    "one empty page ends it",
  );
});

Deno.test("everyPage stops at since and starts before `before`; onPage sees each page as it comes", async () => {
  const s = server(5000);
  const seen: number[] = [];
  const all = await everyPage(s.page, { since: 2_200_000, before: 4500 }, (p) => seen.push(p.count));
  assert.deepEqual([all.messages[0]!.seq, all.messages.at(-1)!.seq, all.messages.length], [2200, 4499, 2300]);
  assert.deepEqual(seen, [1000, 1000, 300]);
  assert.ok(s.asked.every((q) => q.since === 2_200_000));
});

Deno.test("everyPage: a server that ignores before (older than issue 68) gives one page, not a loop", async () => {
  let asked = 0;
  const page = (): Promise<HistoryPage> => {
    asked++;
    return Promise.resolve({ messages: [msg(9), msg(10)], count: 2, oldest: 9, unreadable: 0 });
  };
  const all = await everyPage(page);
  assert.deepEqual([all.messages.map((m) => m.seq), asked], [[9, 10], 2]);
});

Deno.test("unreadableLine says how many the folder's keys could not open, nothing for none", () => {
  assert.equal(unreadableLine(0), null);
  assert.equal(unreadableLine(1), "1 message could not be opened with this folder's keys");
  assert.equal(unreadableLine(3), "3 messages could not be opened with this folder's keys");
});

Deno.test("everyPage: a server that refuses before (older than issue 68) leaves the newest page, said as unpaged", async () => {
  const asked: HistoryQuery[] = [];
  const page = (q: HistoryQuery): Promise<HistoryPage> => {
    asked.push(q);
    if (q.before !== undefined) {
      return Promise.reject(new BackendError("invalid", 'Invalid field "before": Invalid key'));
    }
    return Promise.resolve({ messages: [msg(9), msg(10)], count: 2, oldest: 9, unreadable: 0 });
  };
  const all = await everyPage(page, { since: 5 });
  assert.deepEqual([all.messages.map((m) => m.seq), all.unpaged, asked], [[9, 10], true, [{ since: 5 }, {
    since: 5,
    before: 9,
  }]]);
  await assert.rejects(
    everyPage(page, { before: 20 }),
    /Invalid field/,
    "a before the caller gave is refused as such",
  );
  const other = () => Promise.reject(new BackendError("not_member", "You are not a member of #r"));
  await assert.rejects(everyPage(other), /not a member/);
});

Deno.test("pagesUntil reads only the pages a bounded question needs, passing its limit, under everyPage's rules", async () => {
  const s = server(5000, 1000);
  let seen = 0;
  const got = await pagesUntil(s.page, { limit: 1000 }, (newestFirst) => {
    seen = newestFirst.length;
    return newestFirst.flat().filter((m) => m.seq % 10 === 0).length >= 150; // 100 a page
  });
  assert.equal(seen, 2, "enough after the second page");
  assert.deepEqual(s.asked, [{ limit: 1000 }, { before: 4001, limit: 1000 }], "no third page asked");
  assert.deepEqual([got.messages[0]!.seq, got.messages.at(-1)!.seq, got.pages], [3001, 5000, 2]);
  const never = await pagesUntil(server(2500, 1000).page, {}, () => false);
  assert.equal(never.messages.length, 2500, "never enough: every page, as everyPage");
});
