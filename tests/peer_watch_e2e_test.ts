/**
 * Watch together in peer mode (issue 39.7), scripted: two `parley peer --script -` processes. alice
 * starts videos/sample.mp4 with bob, who has no copy: it is offered, bob accepts, and the session
 * starts once bob saved it; bob joins late and starts at alice's position; then pause, seek and
 * play by either one reach the other's output within 250 ms — the worst step is printed.
 */
import assert from "node:assert/strict";
import { hashFile } from "../lib/client/files/disk.ts";
import { ScriptPeer } from "./peer_harness.ts";
import { eventually, rootFile } from "./helpers.ts";
import { test } from "./deadline.ts";

test("peer watch together, scripted: copy offered, late join in step, controls of either peer within 250 ms", async () => {
  const [ha, hb, out] = [await Deno.makeTempDir(), await Deno.makeTempDir(), await Deno.makeTempDir()];
  const alice = await ScriptPeer.start("alice", ha, { ephemeral: true });
  const bob = await ScriptPeer.start("bob", hb, { ephemeral: true, args: ["--out", out] });
  try {
    const file = rootFile("videos/sample.mp4");
    const sha = await hashFile(file);
    await alice.send(`connect ${bob.addr}`);
    await Promise.all([alice.waitLine(/^connected bob$/), bob.waitLine(/^connected alice$/)]);
    await bob.send("wait offer alice 30");
    await bob.send("accept");
    await alice.send(`watch-together bob ${file}`);
    await alice.waitLine(new RegExp(`^together bob playing ${sha} at 0\\.000s by alice \\(n 1\\)$`));
    await bob.waitLine(/^saved /);
    await bob.waitLine(new RegExp(`^together alice invited ${sha}$`));
    const at = (p: ScriptPeer, peer: string) =>
      p.send(`watch ${peer} where`).then(() => p.waitLine(/^together \w+ position /, 5000, p.lines.length));
    const secs = (l: string) => Number(l.split(" ").pop()!.replace("s", ""));
    // bob joins late: once alice says she is a second in (the event), not after a sleep.
    await eventually(async () => secs(await at(alice, "bob")) >= 1, 20_000, "alice a second in");
    await bob.send("watch-together alice");
    await bob.waitLine(new RegExp(`^together alice playing ${sha} at 0\\.000s by alice \\(n 1\\)$`));
    const [pb, pa] = [await at(bob, "alice"), await at(alice, "bob")];
    assert.ok(secs(pa) > 0.9 && Math.abs(secs(pa) - secs(pb)) < 0.25, `late join in step: ${pa} / ${pb}`);
    let worst = 0, n = 1;
    const steps: Array<[ScriptPeer, ScriptPeer, string, RegExp]> = [
      [alice, bob, "watch bob pause", /^together alice paused .* by alice/],
      [bob, alice, "watch alice seek 4", /^together bob paused \w+ at 4\.000s by bob/],
      [alice, bob, "watch bob play", /^together alice playing .* by alice/],
      [bob, alice, "watch alice pause", /^together bob paused .* by bob/],
      [alice, bob, "watch bob seek 1.5", /^together alice paused \w+ at 1\.500s by alice/],
      [bob, alice, "watch alice play", /^together bob playing .* by bob/],
    ];
    for (const [who, other, line, want] of steps) {
      const from = other.lines.length;
      const t0 = performance.now();
      await who.send(line);
      const got = await other.waitLine(want, 5000, from);
      worst = Math.max(worst, performance.now() - t0);
      assert.match(got, new RegExp(`\\(n ${++n}\\)$`));
    }
    console.log(`peer watch together (scripted, two processes): worst step ${worst.toFixed(1)} ms`);
    assert.ok(worst < 250, `worst step ${worst} ms`);
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    for (const d of [ha, hb, out]) await Deno.remove(d, { recursive: true });
  }
});
