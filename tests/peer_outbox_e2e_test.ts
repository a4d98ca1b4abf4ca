/**
 * Issue 39, the peer script's `outbox` with real processes: while bob is away, alice's text, queued
 * edit, reaction, disappearing time and file offer are listed one line each, numbered oldest first
 * as the full-screen `/outbox` numbers them; `outbox drop N` drops any of them (the edit is never
 * sent, the file offer is withdrawn) and the rest is numbered again; once bob is back the rest
 * reaches him and the outbox is empty.
 */
import assert from "node:assert/strict";
import { freeListen, ScriptPeer, STAMP } from "./peer_harness.ts";
import { test } from "./deadline.ts";

/** The `outbox` lines `p` prints for one `outbox` command (a `peers` line marks the end). */
async function outbox(p: ScriptPeer, command = "outbox"): Promise<string[]> {
  const mark = p.lines.length;
  await p.send(command);
  await p.send("peers");
  await p.waitLine(/^peer /, 5_000, mark);
  return p.lines.slice(mark).filter((l) => /^(outbox|dropped) /.test(l))
    .map((l) => l.replace(new RegExp(`^outbox (\\d+) ${STAMP} `), "outbox $1 TIME "));
}

test("peer mode scripted: outbox lists what waits for an away peer; outbox drop N drops any of it", async () => {
  const dir = await Deno.makeTempDir();
  const listen = freeListen();
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  let bob = await ScriptPeer.start("bob", `${dir}/b`, { listen });
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await alice.send("msg bob first draft");
    await bob.waitLine(new RegExp(`^${STAMP} alice first draft$`));
    await bob.send("msg alice hi alice");
    await alice.waitLine(new RegExp(`^${STAMP} bob hi alice$`));
    assert.equal(await bob.quit(), 0);
    await alice.waitLine(/^disconnected bob$/);
    await Deno.writeTextFile(`${dir}/notes.txt`, "x".repeat(2048));
    // Each a few ms apart: the listing is oldest first.
    for (
      const line of [
        "edit bob second draft",
        "msg bob are you there?",
        "react bob :thumbsup:",
        "expire bob 1d",
        `send bob ${dir}/notes.txt`,
      ]
    ) {
      await alice.send(line);
      await alice.send("sleep 20");
    }
    assert.deepEqual(await outbox(alice), [
      "outbox 1 TIME change bob waiting edit of your message: second draft",
      "outbox 2 TIME message bob waiting are you there?",
      'outbox 3 TIME change bob waiting reaction 👍 on "hi alice"',
      "outbox 4 TIME change bob waiting ⏱ messages here now disappear 1d after they are sent",
      "outbox 5 TIME file bob waiting file notes.txt (2.0 KiB)",
    ]);
    assert.deepEqual(await outbox(alice, "outbox drop 1"), [
      "dropped 1 change bob edit of your message: second draft",
    ]);
    assert.deepEqual(await outbox(alice, "outbox drop 4"), ["dropped 4 file bob file notes.txt (2.0 KiB)"]);
    assert.deepEqual(await outbox(alice, "outbox drop 4"), []);
    assert.ok(
      alice.errors.some((l) => /There is nothing numbered 4 in the outbox/.test(l)),
      alice.errors.join("\n"),
    );
    assert.deepEqual(await outbox(alice), [
      "outbox 1 TIME message bob waiting are you there?",
      'outbox 2 TIME change bob waiting reaction 👍 on "hi alice"',
      "outbox 3 TIME change bob waiting ⏱ messages here now disappear 1d after they are sent",
    ]);

    // Bob is back: the rest reaches him, not the dropped edit nor the withdrawn offer.
    bob = await ScriptPeer.start("bob", `${dir}/b`, { listen });
    await bob.waitLine(/^connected alice$/, 40_000); // alice redials him
    await bob.waitLine(new RegExp(`^${STAMP} alice are you there\\?$`));
    await bob.waitLine(/^reacted alice 👍$/);
    await bob.waitLine(/^\S+ alice ⏱ messages here now disappear 1d after they are sent$/);
    await bob.send("inbox alice");
    await bob.waitLine(new RegExp(`^inbox ${STAMP} alice first draft$`));
    assert.ok(!bob.lines.some((l) => /^edited |^offer /.test(l)), bob.lines.join("\n"));
    let left = await outbox(alice);
    for (let i = 0; i < 50 && left.length; i++) left = await outbox(alice); // the acknowledgements
    assert.deepEqual(left, [], "nothing waits");
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
