/**
 * History paging (issue 68 items 10 and 12) on a real in-process server: the `history` request's
 * `before`, ChatClient.historyPage with core/history_pages.ts over a 5,000-message conversation, and
 * the scripted `parley read --all` / `--before SEQ` (the real CLI, in process: helpers.ts
 * `scriptedCli`) printing every message across pages and saying what the folder's keys cannot open.
 * The CLI's walk runs on a server whose pages hold 100 (`historyLimit`): 450 sealed messages are
 * five pages, the last one short — the paging the 1,000-message pages would show, a tenth the work.
 */
import assert from "node:assert/strict";
import { everyPage } from "../lib/client/core/history_pages.ts";
import { scriptedCli, startTestServer, type TestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const N = 5000;
/** The CLI tests' server's page (`historyLimit`), and the messages its conversation holds: 4½ pages. */
const PAGE = 100;
const SEALED = 450;
const bobT = { kind: "user" as const, name: "bob" };
const aliceT = { kind: "user" as const, name: "alice" };

/** `n` plain messages from `from` to bob, "line 0"…, sent 250 at a time (the server's order is the seq order). */
async function sendPlain(t: TestServer, from: string, n: number, prefix = "line"): Promise<void> {
  const c = await t.client(from);
  const body = (i: number) => new TextEncoder().encode(`${prefix} ${i}`);
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, (_, k) => i + k);
    await Promise.all(
      batch.map((k) => c.conn.request("send", { to: bobT, mid: `${prefix}-${k}-xxxx` }, body(k))),
    );
  }
}

test("history before a seq: 5,000 stored messages come back page by page, oldest first; a request without before as before", async () => {
  const t = await startTestServer();
  try {
    const bob = await t.client("bob");
    await sendPlain(t, "alice", N);
    const newest = await bob.history(aliceT);
    assert.equal(newest.length, 1000, "one request: the newest 1,000, as before");
    assert.equal(newest.at(-1)!.text, `line ${N - 1}`);
    const all = await everyPage((q) => bob.remote.historyPage(aliceT, q));
    assert.equal(all.messages.length, N);
    assert.deepEqual(all.messages.map((m) => m.text), Array.from({ length: N }, (_, i) => `line ${i}`));
    assert.deepEqual([all.count, all.unreadable, all.pages], [N, 0, 6]);
    // The wire: `before` bounds a page from above; the limit and the cap hold as before.
    const mid = all.messages[2500]!.seq;
    const r = await bob.conn.request("history", { to: aliceT, before: mid, limit: 3 });
    assert.deepEqual(r.items.map((f) => f.header.seq), [mid - 3, mid - 2, mid - 1]);
    const none = await bob.conn.request("history", { to: aliceT, before: all.messages[0]!.seq });
    assert.equal(none.header.count, 0, "nothing before the first");
  } finally {
    await t.stop();
  }
});

test("parley read --all prints every message of a conversation, page by page; --before SEQ the page before it", async () => {
  const t = await startTestServer({ historyLimit: PAGE });
  try {
    const cli = (user: string, argv: string[]) => scriptedCli(t, user, argv);
    assert.equal((await cli("bob", ["register"])).code, 0);
    const alice = (await t.e2eClient("alice")).client;
    for (let i = 0; i < SEALED; i += 250) {
      const batch = Array.from({ length: Math.min(250, SEALED - i) }, (_, k) => i + k);
      await Promise.all(batch.map((k) => alice.send(bobT, `hello ${k}`)));
    }
    const r = await cli("bob", ["read", "--from", "alice", "--all"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.lines.length, SEALED, r.err);
    const texts = r.lines.map((l) => l.split(": ").slice(1).join(": "));
    assert.deepEqual(new Set(texts).size, SEALED, "every message once");
    assert.doesNotMatch(r.err, /could not be opened/);
    // Again, from what the folder keeps and the server's pages: the same messages, in seq order.
    const j = await cli("bob", ["read", "--from", "alice", "--all", "--json"]);
    const seqs = (JSON.parse(j.out) as { seq: number }[]).map((m) => m.seq);
    assert.equal(seqs.length, SEALED);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), "oldest to newest");
    const page = await cli("bob", ["read", "--from", "alice", "--before", String(seqs[420]), "--json"]);
    assert.equal(page.code, 0, page.err);
    assert.deepEqual((JSON.parse(page.out) as { seq: number }[]).map((m) => m.seq), seqs.slice(320, 420));
    assert.match(page.err, new RegExp(`^Older messages: --before ${seqs[320]}$`, "m"));
    const bad = await cli("bob", ["read", "--all"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--all and --before page through one conversation/);
  } finally {
    await t.stop();
  }
});

test("parley read --all says how many messages the folder's keys could not open", async () => {
  const t = await startTestServer();
  try {
    const cli = (user: string, argv: string[]) => scriptedCli(t, user, argv);
    assert.equal((await cli("bob", ["register"])).code, 0);
    await sendPlain(t, "mallory", 3, "unsealed"); // not sealed to bob's keys: nothing here opens them
    const r = await cli("bob", ["read", "--from", "mallory", "--all"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^3 messages could not be opened with this folder's keys$/m, r.err);
    assert.match(r.err, /^No messages$/m);
  } finally {
    await t.stop();
  }
});
