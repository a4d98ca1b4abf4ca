/**
 * `parley send TARGET -` and `--lines` (a day of real use: there was no way to pipe a command's output
 * or a log into a conversation). A spawned client reads standard input: `-` sends it whole as one
 * multi-line message; `--lines` sends each line that is not blank as its own message, in order, a
 * line too long for the server named on standard error while the others go, and a burst past the
 * server's message rate slowed, never dropped. The unit tests of send_stdin.ts drive the same
 * function with a scripted client (rate refusals, a lost connection).
 */
import assert from "node:assert/strict";
import { PROGRAM_PERMS, rootFile, startTestServer, type TestServer } from "./helpers.ts";

/** `parley ARGS…` as `user` (registered with its own folder) with `input` on standard input. */
async function piped(t: TestServer, user: string, args: string[], input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("client.ts"),
      ...args,
      "--server",
      `127.0.0.1:${t.port}`,
      "--user",
      user,
      "--home",
      `${t.dir}/home-${user}`,
      "--trust-on-first-use",
    ],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PARLEY_PASSWORD: `pw-${user}-secret` },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  const o = await child.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout).trimEnd(), err: d.decode(o.stderr).trimEnd() };
}

Deno.test("scripted: send - sends standard input as one message; --lines one message a line", async () => {
  const t = await startTestServer({ msgRate: 20, msgBurst: 10 });
  try {
    for (const u of ["alice", "bob"]) assert.equal((await piped(t, u, ["register"], "")).code, 0);
    const whole = await piped(t, "alice", ["send", "bob", "-"], "build 1842 failed\n  at step test\n\n\n");
    assert.equal(whole.code, 0, whole.err);
    assert.match(whole.out, /^Sent to bob at \S+$/);
    // 60 lines at a rate of 20 a second (bursts of 10): slowed by the server's refusals, every one sent, in order.
    const lines = Array.from({ length: 60 }, (_, i) => `log ${i + 1} :rocket:`);
    lines.splice(10, 0, "", "   ", "x".repeat(2_000_000)); // blank lines are no message; line 13 is too long
    const each = await piped(t, "alice", ["send", "bob", "--lines", "--json"], lines.join("\n") + "\n");
    assert.equal(each.code, 1);
    assert.equal(each.out.split("\n").length, 60);
    assert.ok(each.out.split("\n").every((l) => JSON.parse(l).to === "bob"));
    assert.match(each.err, /^parley: line 13 not sent: The message is too long \(1\.9 MiB\)/m);
    assert.match(each.err, /parley: line 13 was not sent \(see above\); the others were$/);
    const read = await piped(t, "bob", ["read", "--json"], "");
    const texts = (JSON.parse(read.out) as { text: string }[]).map((m) => m.text);
    assert.deepEqual(texts, [
      "build 1842 failed\n  at step test",
      ...Array.from({ length: 60 }, (_, i) => `log ${i + 1} 🚀`),
    ]);
    // Bad input: each a clear line, nothing sent.
    const none = await piped(t, "alice", ["send", "bob", "-"], "\n\n");
    assert.deepEqual([none.code, none.err], [
      2,
      "parley: There is no text to send: standard input was empty",
    ]);
    const both = await piped(t, "alice", ["send", "bob", "--lines", "hi"], "x\n");
    assert.match(both.err, /--lines sends the lines of standard input: give - \(or no text\)/);
    const nobody = await piped(t, "alice", ["send", "#nowhere", "--lines"], "a\nb\n");
    assert.match(nobody.err, /^parley: Nothing was sent: /);
  } finally {
    await t.stop();
  }
});
