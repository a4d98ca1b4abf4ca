/**
 * `parley send TARGET -` and `--lines` (a day of real use: there was no way to pipe a command's output
 * or a log into a conversation). A spawned client reads standard input: `-` sends it whole as one
 * multi-line message; `--lines` sends each line that is not blank as its own message, in order, a
 * line too long for the server named on standard error while the others go, and a burst past the
 * server's message rate slowed, never dropped. The unit tests of send_stdin.ts drive the same
 * function with a scripted client (rate refusals, a lost connection). And `parley search` (there was
 * no way to find a message): what the folder keeps, with read's filters, leaving new messages new.
 */
import assert from "node:assert/strict";
import { eventually, PROGRAM_PERMS, rootFile, runAs, startTestServer, type TestServer } from "./helpers.ts";

/** `parley ARGS…` as `user` with `input` on standard input, its output lines without the last newline. */
async function piped(t: TestServer, user: string, args: string[], input: string) {
  const r = await runAs(t, user, args, input);
  return { code: r.code, out: r.out.trimEnd(), err: r.err.trimEnd() };
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

Deno.test("scripted: search finds what this folder keeps, newest last, with read's filters and --json", async () => {
  const t = await startTestServer();
  try {
    for (const u of ["alice", "bob"]) assert.equal((await piped(t, u, ["register"], "")).code, 0);
    await piped(
      t,
      "alice",
      ["send", "bob", "--lines"],
      "the Deploy is on friday\nlunch?\nfriday: deploy done\n",
    );
    // Bob has not read them: search saves them first and leaves them new for read.
    const found = await piped(t, "bob", ["search", "friday", "DEPLOY"], "");
    assert.equal(found.code, 0, found.err);
    assert.match(
      found.out,
      /^\S+ alice -> bob: the Deploy is on friday\n\S+ alice -> bob: friday: deploy done$/,
    );
    const json = await piped(t, "bob", ["search", "--from", "alice", "--json", "--limit", "1", "deploy"], "");
    assert.deepEqual(JSON.parse(json.out).map((m: { text: string }) => m.text), ["friday: deploy done"]);
    assert.match(json.err, /The newest 1 matches are shown; --limit shows more/);
    const none = await piped(t, "bob", ["search", "pizza"], "");
    assert.match(
      none.err,
      /^No message matches "pizza" \(searched 3 messages kept in this folder since \S+\)$/,
    );
    const read = await piped(t, "bob", ["read"], "");
    assert.equal(read.out.split("\n").length, 3, "still new for read");
    const typo = await piped(t, "bob", ["search", "--room", "nosuch", "x"], "");
    assert.deepEqual([typo.code, typo.err], [1, "parley: There is no room named #nosuch"]);
    const bad = await piped(t, "bob", ["search", "--limit", "0", "x"], "");
    assert.match(bad.err, /--limit takes a whole number from 1 to 10000, not "0"/);
  } finally {
    await t.stop();
  }
});

/** `parley read --follow --json --from alice` (or `FILTER…`) as bob, the password in the environment. */
const followArgs = (t: TestServer, filter = ["--from", "alice"]): Deno.CommandOptions => ({
  args: [
    "run",
    ...PROGRAM_PERMS,
    rootFile("client.ts"),
    ...["read", "--follow", "--json", ...filter],
    ...["--server", `127.0.0.1:${t.port}`, "--user", "bob", "--home", `${t.dir}/home-bob`],
  ],
  env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PARLEY_PASSWORD: "pw-bob-secret" },
  stdin: "null",
});

Deno.test("scripted: read --follow prints what arrives as it arrives, one JSON a line, across a lost connection", async () => {
  const t = await startTestServer();
  const send = (text: string) => piped(t, "alice", ["send", "bob", text], "");
  try {
    for (const u of ["alice", "bob"]) assert.equal((await piped(t, u, ["register"], "")).code, 0);
    await send("before");
    const child = new Deno.Command(Deno.execPath(), { ...followArgs(t), stdout: "piped", stderr: "piped" })
      .spawn();
    const lines: string[] = [];
    let err = "";
    const reading = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
      }
    })();
    const erring = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
    })();
    const texts = () => lines.map((l) => JSON.parse(l).text);
    await eventually(() => texts().join() === "before", 20_000, `the queued one: ${err}`);
    await send("live 1");
    await eventually(() => texts().join() === "before,live 1", 10_000, "the live one");
    // The server drops bob's connection: read --follow connects again and goes on.
    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("io", "link dropped");
    await eventually(() => err.includes("Connected again"), 15_000, `connected again: ${err}`);
    await send("live 2");
    await eventually(() => texts().join() === "before,live 1,live 2", 10_000, "after the reconnect");
    child.kill("SIGINT");
    assert.equal((await child.status).code, 0, err);
    await Promise.all([reading, erring]);
    assert.match(err, /The connection was lost; connecting again…/);
    // Printed is acknowledged and shown: nothing is new for read.
    const read = await piped(t, "bob", ["read"], "");
    assert.deepEqual([read.code, read.out, read.err], [0, "", "No new messages"]);
    // A kick ends it, with why (it does not connect again by itself, as the full-screen client does not).
    await send("last");
    const again = new Deno.Command(Deno.execPath(), { ...followArgs(t), stdout: "piped", stderr: "piped" })
      .spawn();
    const late = setTimeout(() => again.kill("SIGKILL"), 30_000); // a follow that never ends fails here
    let out = "", said = "";
    const outs = (async () => {
      for await (const chunk of again.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
    })();
    const errs = (async () => {
      for await (const chunk of again.stderr.pipeThrough(new TextDecoderStream())) said += chunk;
    })();
    await eventually(() => out.includes("last"), 20_000, "following"); // caught up: now it follows
    for (const s of t.srv.hub.sessionsOf("bob")) s.bye("kicked", "You were kicked by an admin: enough");
    const [o] = await Promise.all([again.status, outs, errs]);
    clearTimeout(late);
    assert.equal(o.code, 1);
    assert.equal(said.match(/parley: You were kicked by an admin: enough/g)?.length, 1, said); // said once
  } finally {
    await t.stop();
  }
});

Deno.test("scripted: read --follow --others leaves out one's own messages (a bot does not answer itself)", async () => {
  const t = await startTestServer();
  try {
    for (const u of ["alice", "bob"]) assert.equal((await piped(t, u, ["register"], "")).code, 0);
    assert.equal((await piped(t, "alice", ["room", "create", "ops", "bob"], "")).code, 0);
    const child = new Deno.Command(Deno.execPath(), {
      ...followArgs(t, ["--room", "ops", "--others"]),
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let out = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
    })();
    await eventually(() => [...t.srv.hub.sessionsOf("bob")].length > 0, 20_000, "following");
    await piped(t, "bob", ["send", "#ops", "mine"], ""); // the same folder: it comes back to the follower
    await piped(t, "alice", ["send", "#ops", "theirs"], "");
    await eventually(() => out.includes("theirs"), 10_000, "alice's message");
    child.kill("SIGINT");
    await child.status;
    await reading;
    assert.deepEqual(out.trim().split("\n").map((l) => JSON.parse(l).text), ["theirs"]);
  } finally {
    await t.stop();
  }
});
