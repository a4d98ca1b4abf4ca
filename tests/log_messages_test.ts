/**
 * `--log-messages` (issue 14): opt-in, one operator-log line per stored message with metadata only
 * (time, sender, target, size, seq). Clients here send without end-to-end encryption, so a body
 * that reached the log would be readable in it: it must never be there. Also the operator's warning
 * of a group commit the store held (`store.slow_commit`), which names counts, never a body.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { SLOW_COMMIT_MS } from "../lib/server/message_log.ts";

const BODY = "the plain body nobody may log";

Deno.test("logMessages writes sender, target, size and seq of every message, never its body", async () => {
  const t = await startTestServer({ logMessages: true });
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const dm = await alice.send({ kind: "user", name: "bob" }, BODY);
    await alice.commands.createRoom("dev", ["bob"]);
    const room = await bob.send({ kind: "room", name: "dev" }, `${BODY} (room)`);
    const lines = t.lines.filter((l) => / message /.test(l));
    assert.equal(lines.length, 2, t.lines.join("\n"));
    const bytes = new TextEncoder().encode(BODY).length;
    assert.match(
      lines[0]!,
      new RegExp(`^\\S+Z INFO message from=alice to=bob bytes=${bytes} seq=${dm.seq}$`),
    );
    assert.match(lines[1]!, new RegExp(`INFO message from=bob to=#dev bytes=\\d+ seq=${room.seq}$`));
    assert.ok(!t.lines.some((l) => l.includes("plain body")), "a body reached the log");
  } finally {
    await t.stop();
  }
});

Deno.test("without logMessages (the default) no message line is written", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    await alice.send({ kind: "user", name: "bob" }, BODY);
    assert.deepEqual(t.lines.filter((l) => / message /.test(l)), []);
    assert.ok(!t.lines.some((l) => l.includes("plain body")));
  } finally {
    await t.stop();
  }
});

Deno.test("a group commit held by the store past SLOW_COMMIT_MS is logged as store.slow_commit, a quick one is not", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    await alice.send({ kind: "user", name: "bob" }, "quick");
    assert.deepEqual(t.lines.filter((l) => l.includes("store.slow_commit")), []);
    // The disk stalls: the next commit takes SLOW_COMMIT_MS and a little more.
    const store = t.srv.core.store, append = store.appendMessages.bind(store);
    store.appendMessages = async (b, a) => {
      await new Promise((r) => setTimeout(r, SLOW_COMMIT_MS + 20));
      return append(b, a);
    };
    await alice.send({ kind: "user", name: "bob" }, "held");
    const slow = t.lines.filter((l) => l.includes("store.slow_commit"));
    assert.equal(slow.length, 1, t.lines.join("\n"));
    assert.match(slow[0]!, /WARN store\.slow_commit ms=\d{3,} commits=1 messages=1 acks=0 /);
    assert.ok(!slow[0]!.includes("held"), "a body reached the log");
  } finally {
    await t.stop();
  }
});
