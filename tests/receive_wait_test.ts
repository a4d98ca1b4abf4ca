/**
 * `parley receive` as its user sees it on standard error and output (issue 71.15): an offer it leaves
 * (a sender who is not a verified contact) is said at once, with the flags that would take it, not
 * at the end of `--timeout`; having saved an older offer first, `receive --timeout` waits on for the
 * new one it was run for.
 */
import assert from "node:assert/strict";
import { runCli } from "../lib/client/cli/main.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { VERSION } from "../lib/common/version.ts";
import { eventually, scriptedCli, startTestServer, type TestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

/** `parley ARGV` in this process as bob, each line of output and error as it comes, timed. */
function liveCli(t: TestServer, argv: string[]) {
  const out: string[] = [], err: { at: number; line: string }[] = [];
  const env: Record<string, string> = {
    PARLEY_SERVER: `127.0.0.1:${t.port}`,
    PARLEY_USER: "bob",
    PARLEY_PASSWORD: "pw-bob-secret",
    PARLEY_HOME: `${t.dir}/cli-bob`,
  };
  const done = fingerprintPem(t.cert).then((fp) =>
    runCli([...argv, "--fingerprint", fp], {
      env: { get: (n) => env[n] },
      out: (l) => out.push(l),
      err: (l) => err.push({ at: Date.now(), line: l }),
      prompts: {},
      version: VERSION,
    })
  );
  return { out, err, done };
}

test("receive says at once which offer it leaves and why; --timeout waits on for a new offer after an older one", async () => {
  const t = await startTestServer();
  try {
    assert.equal((await scriptedCli(t, "bob", ["register"])).code, 0);
    const a = await t.e2eClient("alice");
    await a.client.sync();
    const fa = FileTransfers.of(a.client);
    const small = `${t.dir}/small.txt`;
    await Deno.writeTextFile(small, "y".repeat(64));
    await fa.send("bob", small);
    // alice is no verified contact: her offer is left, said at once, while the wait goes on.
    const started = Date.now();
    const r = liveCli(t, ["receive", "--out", `${t.dir}/down`, "--timeout", "8"]);
    assert.equal(await r.done, 0);
    const left = r.err.find((e) => /left small\.txt from alice offered/.test(e.line));
    assert.ok(left, JSON.stringify(r.err));
    assert.match(left.line, /not a verified contact \(parley receive --from alice, or --from-anyone\)/);
    assert.ok(left.at - started < 5_000, `said ${left.at - started} ms in, not at the end of --timeout`);
    assert.ok(Date.now() - started >= 7_000, "it still waited for --timeout");
    assert.equal(r.err.filter((e) => /left small\.txt/.test(e.line)).length, 1, "said once");

    // An older offer (this folder knew it) is saved first; the run waits on for the new one.
    const second = `${t.dir}/second.txt`;
    await Deno.writeTextFile(second, "z".repeat(32));
    const w = liveCli(t, ["receive", "--from", "alice", "--out", `${t.dir}/down`, "--timeout", "60"]);
    await eventually(() => w.out.length === 1, 30_000);
    assert.match(w.out[0]!, /^saved .*small\.txt 64 /);
    await fa.send("bob", second);
    assert.equal(await w.done, 0, JSON.stringify(w.err));
    assert.equal(w.out.length, 2, JSON.stringify(w.err));
    assert.match(w.out[1]!, /^saved .*second\.txt 32 /);
  } finally {
    await t.stop();
  }
});
