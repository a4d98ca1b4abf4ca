import assert from "node:assert/strict";
import { demoWorld, harness } from "./testing.ts";
import { BackendError, type ChatMessage, type HistoryPage, type HistoryQuery } from "../backend.ts";
import type { FakeBackend } from "./fake_backend.ts";

const general = { kind: "room" as const, name: "general" };
const DAY = 86_400_000;

/**
 * Gives `b` the server's pages (`historyPage`) over `n` stored messages of #general, one a minute up
 * to `end`, `size` a page; the seqs in `unreadable` are sent but not opened. Answers the queries asked.
 */
function pages(b: FakeBackend, n: number, end: number, size = 1000, unreadable = new Set<number>()) {
  const stored: ChatMessage[] = Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    mid: `stored-${i + 1}-xxxx`,
    ts: end - (n - i) * 60_000,
    from: "bob",
    to: general,
    text: `stored ${i + 1}`,
  }));
  const asked: HistoryQuery[] = [];
  b.withRemote({
    historyPage: (_t, q = {}): Promise<HistoryPage> => {
      asked.push(q);
      const fit = stored.filter((m) => m.seq < (q.before ?? Infinity) && m.ts >= (q.since ?? 0)).slice(-size);
      return Promise.resolve({
        messages: fit.filter((m) => !unreadable.has(m.seq)),
        count: fit.length,
        oldest: fit[0]?.seq ?? null,
        unreadable: fit.filter((m) => unreadable.has(m.seq)).length,
      });
    },
  });
  return asked;
}

const storedLines = (h: Awaited<ReturnType<typeof harness>>) =>
  h.app.state.buffers.current.lines.filter((l) => l.text.startsWith("stored "));

Deno.test("/history 30d asks the server for every page back to then: all 5,000 stored messages are shown", async () => {
  const h = await harness({ setup: demoWorld, cols: 120 });
  const asked = pages(h.backend, 5000, h.clock.now(), 1000, new Set([17, 4000]));
  await h.type("\x1b2");
  const s = await h.type("/history 30d\r");
  const since = h.clock.now() - 30 * DAY;
  assert.deepEqual(asked, [
    { since },
    { since, before: 4001 },
    { since, before: 3001 },
    { since, before: 2001 },
    { since, before: 1001 },
    { since, before: 1 },
  ]);
  assert.equal(storedLines(h).length, 4998);
  assert.equal(h.backend.callsOf("history").length, 0, "not the one-page history");
  assert.match(s.join("\n"), /2 messages could not be opened with this folder's keys/);
  assert.match(s.join("\n"), /4998 messages loaded/);
  h.close();
});

Deno.test("PgUp at the top of a conversation loads the page before its oldest message, until the server has none", async () => {
  const h = await harness({ setup: demoWorld });
  const asked = pages(h.backend, 45, h.clock.now(), 20);
  await h.type("\x1b2");
  h.backend.receive("bob", general, "a new line");
  await h.settle();
  const first = h.app.state.buffers.current.lines.find((l) => l.text === "a new line")!.seq!;
  await h.type("\x1b[5~"); // everything fits: the top is in view, the page before the line comes
  assert.deepEqual(asked, [{ before: first }]);
  assert.deepEqual(storedLines(h).map((l) => l.seq), Array.from({ length: 20 }, (_, i) => 26 + i));
  await h.type("\x1b[5~"); // a page up: not the top yet
  let s: string[] = [];
  for (let i = 0; i < 10 && asked.length < 3; i++) s = await h.type("\x1b[5~");
  assert.deepEqual(asked.map((q) => q.before), [first, 26, 6]);
  assert.equal(storedLines(h).length, 45, "every stored message, once");
  for (let i = 0; i < 20 && asked.length < 4; i++) s = await h.type("\x1b[5~");
  assert.deepEqual(asked.map((q) => q.before), [first, 26, 6, 1]);
  assert.match(
    h.app.state.buffers.current.lines.map((l) => l.text).join("\n"),
    /The start of this conversation: the server has nothing older/,
  );
  for (let i = 0; i < 5; i++) s = await h.type("\x1b[5~");
  assert.equal(asked.length, 4, "not asked again for what it has not");
  assert.ok(s.length > 0);
  h.close();
});

Deno.test("PgUp against a server that cannot page says so once and does not ask again", async () => {
  const h = await harness({ setup: demoWorld });
  let asked = 0;
  h.backend.withRemote({
    historyPage: () => {
      asked++;
      return Promise.reject(new BackendError("invalid", 'Invalid field "before": Invalid key'));
    },
  });
  await h.type("\x1b2");
  h.backend.receive("bob", general, "a new line");
  await h.settle();
  for (let i = 0; i < 3; i++) await h.type("\x1b[5~");
  assert.equal(asked, 1);
  const text = h.app.state.buffers.current.lines.map((l) => l.text).join("\n");
  assert.match(text, /This server cannot page through older messages/);
  h.close();
});
