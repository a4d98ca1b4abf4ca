/**
 * Issue 71.13: `parley export [TARGET] [--since] [--format text|json]` (the real CLI, in process:
 * helpers.ts `scriptedCli`) writes a conversation's history as plain text on standard output, oldest
 * first, after a warning on standard error that it is not encrypted; json as `read --json`; the
 * queue stays new for `read`.
 */
import assert from "node:assert/strict";
import { scriptedCli, startTestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const bobT = { kind: "user" as const, name: "bob" };

test("parley export USER writes the conversation as text (a warning on stderr: not encrypted); --format json; read still shows the queue", async () => {
  const t = await startTestServer();
  try {
    const cli = (argv: string[]) => scriptedCli(t, "bob", argv);
    assert.equal((await cli(["register"])).code, 0);
    const alice = (await t.e2eClient("alice")).client;
    for (const text of ["one", "two", "three"]) await alice.send(bobT, text);
    const r = await cli(["export", "alice"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^parley: warning: the export is not encrypted/);
    assert.deepEqual(r.lines.map((l) => l.replace(/^\S+ /, "")), [
      "alice -> bob: one",
      "alice -> bob: two",
      "alice -> bob: three",
    ]);
    const j = await cli(["export", "alice", "--format", "json"]);
    assert.deepEqual((JSON.parse(j.out) as { text: string }[]).map((m) => m.text), ["one", "two", "three"]);
    const since = await cli(["export", "alice", "--since", "1h"]);
    assert.equal(since.lines.length, 3, since.err);
    const bad = await cli(["export", "alice", "--format", "html"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--format takes text or json, not "html"/);
    // Nothing was acknowledged: read shows the three as new.
    const read = await cli(["read"]);
    assert.equal(read.lines.length, 3, read.err);
    // Without TARGET: every conversation this folder keeps.
    const all = await cli(["export"]);
    assert.equal(all.lines.length, 3, all.err);
  } finally {
    await t.stop();
  }
});
