/**
 * `--log-messages` (issue 14): opt-in, one operator-log line per stored message with metadata only
 * (time, sender, target, size, seq). Clients here send without end-to-end encryption, so a body
 * that reached the log would be readable in it: it must never be there.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";

const BODY = "the plain body nobody may log";

Deno.test("logMessages writes sender, target, size and seq of every message, never its body", async () => {
  const t = await startTestServer({ logMessages: true });
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const dm = await alice.send({ kind: "user", name: "bob" }, BODY);
    await alice.createRoom("dev", ["bob"]);
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
