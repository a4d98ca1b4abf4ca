/**
 * Issue 13, peer mode end to end with real processes: a triangle of two scripted nodes and one
 * full-screen node (tmux), restarts (inbox, keys, peers and ratchets kept), a changed key (flagged,
 * refused until trusted), --ephemeral (the folder untouched) and the bad-input list against a
 * node's listener while it keeps serving its peers.
 */
import assert from "node:assert/strict";
import { folderState, ScriptPeer } from "./peer_harness.ts";
import { skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /;
const event = (from: string, text: string) => new RegExp(`${STAMP.source}${from} ${text}$`);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

test({
  name:
    "peer mode: a triangle (two --script, one full screen) talks in every direction; /inbox has timestamps",
  ignore: skipWithoutTmux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmux = new Tmux(0);
    const alice = await ScriptPeer.start("alice", `${dir}/a`);
    const bob = await ScriptPeer.start("bob", `${dir}/b`);
    try {
      const cport = freePort();
      await tmux.startPeer("carol", "carol", `${dir}/c`, `127.0.0.1:${cport}`);
      await tmux.waitFor("carol", (s) => s.includes("peer mode on"), "the peer-mode screen");
      await alice.send(`connect ${bob.addr}`);
      await alice.waitLine(/^connected bob$/);
      await tmux.type("carol", `/connect ${alice.addr}`);
      await tmux.type("carol", `/conn ${bob.addr}`);
      await alice.waitLine(/^connected carol$/);
      await bob.waitLine(/^connected carol$/);
      await alice.send("msg bob a2b");
      await alice.send("msg carol a2c");
      await bob.send("msg alice b2a");
      await bob.send("msg carol b2c");
      await tmux.type("carol", "/msg alice c2a");
      await tmux.type("carol", "/query bob");
      await tmux.waitFor("carol", (s) => /^\[bob\] *$/m.test(s), "bob's buffer");
      await tmux.type("carol", "c2b typed in the buffer");
      await alice.waitLine(event("bob", "b2a"));
      await alice.waitLine(event("carol", "c2a"));
      await bob.waitLine(event("alice", "a2b"));
      await bob.waitLine(event("carol", "c2b typed in the buffer"));
      // Carol's screen: /inbox lists the messages with their times (issue 34.13); their buffers too.
      await tmux.type("carol", "/inbox");
      await tmux.waitFor(
        "carol",
        (s) => /Inbox: 2 messages/.test(s) && /\d\d:\d\d alice: a2c/.test(s) && /\d\d:\d\d bob: b2c/.test(s),
        "the inbox list",
      );
      await tmux.type("carol", "/query alice");
      await tmux.waitFor("carol", (s) => /^\[alice\] *$/m.test(s), "alice's buffer");
      await tmux.waitFor("carol", (s) => /\d\d:\d\d +alice │ a2c/.test(s), "alice's message with its time");
      await tmux.type("carol", "/query bob");
      await tmux.waitFor("carol", (s) => /\d\d:\d\d +bob │ b2c/.test(s), "bob's message with its time");
      // The scripted side's inbox too, and /peers on the screen.
      await alice.send("inbox");
      await alice.waitLine(/^inbox \S+ bob b2a$/);
      await alice.waitLine(/^inbox \S+ carol c2a$/);
      await tmux.type("carol", "/peers");
      await tmux.waitFor("carol", (s) => /alice +127\.0\.0\.1:\d+ +unverified online/.test(s), "/peers");
      // Tab on an empty argument lists every peer; on a prefix it completes.
      await tmux.keys("carol", "-l", "/msg ");
      await tmux.keys("carol", "Tab");
      await tmux.waitFor(
        "carol",
        (s) => /Choices: .*alice.*bob|Choices: .*bob.*alice/.test(s),
        "Tab choices",
      );
      await tmux.keys("carol", "C-u");
      await tmux.keys("carol", "-l", "/msg b");
      await tmux.keys("carol", "Tab");
      await tmux.waitFor("carol", (s) => /\[bob\] \/msg bob\s*$/m.test(s), "Tab completing bob");
      await tmux.keys("carol", "C-u");
      await tmux.type("carol", "/quit");
    } finally {
      await tmux.stop();
      await Promise.all([alice.quit(), bob.quit()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

test({
  name:
    "peer mode (issue 34.4): the ⋯ of a message written while the peer was away goes once it is delivered",
  ignore: skipWithoutTmux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmux = new Tmux(0);
    let alice: ScriptPeer | null = await ScriptPeer.start("alice", `${dir}/a`);
    const aport = alice.port;
    try {
      const cport = freePort();
      await tmux.startPeer("carol", "carol", `${dir}/c`, `127.0.0.1:${cport}`);
      await tmux.waitFor("carol", (s) => s.includes("peer mode on"), "the peer-mode screen");
      await tmux.type("carol", `/connect ${alice.addr}`);
      await alice.waitLine(/^connected carol$/);
      await tmux.type("carol", "/query alice");
      await tmux.waitFor("carol", (s) => /^\[alice\] *$/m.test(s), "alice's buffer");
      await alice.quit();
      alice = null;
      await tmux.waitFor("carol", (s) => s.includes("alice is offline"), "alice gone");
      await tmux.type("carol", "written while away");
      await tmux.waitFor("carol", (s) => /carol ⋯ written while away/.test(s), "the message waiting (⋯)");
      alice = await ScriptPeer.start("alice", `${dir}/a`, { listen: `127.0.0.1:${aport}` });
      await alice.send(`connect 127.0.0.1:${cport}`);
      await alice.waitLine(event("carol", "written while away"));
      await tmux.waitFor("carol", (s) => /carol │ written while away/.test(s), "the ⋯ gone once delivered");
      await tmux.type("carol", "/quit");
    } finally {
      await tmux.stop();
      await alice?.quit();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

test("peer mode: a restarted node keeps inbox, keys and peers and resumes its ratchets (no key-changed)", async () => {
  const dir = await Deno.makeTempDir();
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  let bob = await ScriptPeer.start("bob", `${dir}/b`);
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await alice.send("msg bob before the restart");
    await bob.waitLine(event("alice", "before the restart"));
    await bob.send("msg alice hello alice");
    await alice.waitLine(event("bob", "hello alice"));
    await bob.send("fingerprint alice");
    const fp = await bob.waitLine(/^fingerprint alice /);
    const port = bob.port;
    const mark = alice.lines.length;
    assert.equal(await bob.quit(), 0);
    bob = await ScriptPeer.start("bob", `${dir}/b`, { listen: `127.0.0.1:${port}` });
    await bob.send("inbox");
    await bob.waitLine(/^inbox \S+ alice before the restart$/);
    await bob.send("peers");
    // bob wrote to alice, so she is kept; the address she named is not (issue 33.8: bob never dialled it).
    await bob.waitLine(/^peer alice - unverified/);
    await bob.send("fingerprint alice");
    assert.equal(await bob.waitLine(/^fingerprint alice /), fp);
    // Alice dials bob again by herself (back-off) and both ratchets continue where they were.
    await alice.waitLine(/^connected bob$/, 30_000, mark);
    await alice.send("msg bob after the restart");
    await bob.waitLine(event("alice", "after the restart"));
    await bob.send("msg alice welcome back");
    await alice.waitLine(event("bob", "welcome back"));
    for (const p of [alice, bob]) {
      assert.ok(!p.lines.some((l) => l.startsWith("key-changed")), `${p.user}: ${p.lines.join("\n")}`);
      assert.deepEqual(p.errors.filter((l) => !/disconnected/.test(l)), []);
    }
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
});

test("peer mode: a peer whose key changed is flagged and refused until trusted", async () => {
  const dir = await Deno.makeTempDir();
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  let bob = await ScriptPeer.start("bob", `${dir}/b1`);
  try {
    await alice.send(`connect ${bob.addr}`);
    await alice.waitLine(/^connected bob$/);
    const port = bob.port;
    await bob.quit();
    // Someone else (a new key) now answers as bob at the same address.
    bob = await ScriptPeer.start("bob", `${dir}/b2`, { listen: `127.0.0.1:${port}` });
    await alice.waitLine(/^key-changed bob$/, 30_000);
    // Her dial reached the new bob, and she hung up on it before her hello: the refusal as he sees it
    // (peer/admit.ts `hungUp`). That channel can say nothing more, and she dials a refused key no more.
    await bob.waitError(/alice reached this node and hung up before its hello/);
    assert.ok(!bob.lines.some((l) => /^connected alice$/.test(l)), bob.lines.join("\n"));
    await alice.send("msg bob are you really bob?");
    await alice.send("peers");
    await alice.waitLine(/^peer bob \S+ unverified offline key-changed$/);
    assert.ok(alice.errors.some((l) => /identity key of bob changed/.test(l)), alice.errors.join("\n"));
    // Its hint names the script's commands, not the full-screen client's (issue 71.20).
    const hint =
      /identity key of bob changed: compare safety numbers \(fingerprint bob\), then verify or trust$/;
    assert.ok(alice.errors.some((l) => hint.test(l)), alice.errors.join("\n"));
    assert.ok(!alice.errors.some((l) => /\/(fingerprint|verify|trust)\b/.test(l)), alice.errors.join("\n"));
    assert.ok(!bob.lines.some((l) => /^connected alice$/.test(l)), bob.lines.join("\n"));
    await alice.send("trust bob");
    await alice.waitLine(/^trusted bob$/);
    await alice.waitLine(/^connected bob$/);
    await alice.send("msg bob trusted now");
    await bob.waitLine(event("alice", "trusted now"));
    assert.ok(!bob.lines.some((l) => /are you really bob/.test(l)), "the refused message was never sent");
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
});

test("peer mode: --ephemeral leaves the client folder exactly as it was", async () => {
  const dir = await Deno.makeTempDir();
  // A folder in use: alice ran once for real, so her database is there.
  let alice = await ScriptPeer.start("alice", `${dir}/a`);
  const carol = await ScriptPeer.start("carol", `${dir}/c`);
  await alice.send(`connect ${carol.addr}`);
  await alice.waitLine(/^connected carol$/);
  await Promise.all([alice.quit(), carol.quit()]);
  const bob = await ScriptPeer.start("bob", `${dir}/b`);
  try {
    const before = await folderState(`${dir}/a`);
    assert.ok(before.some((l) => l.includes("alice@peer.db")), before.join("\n"));
    alice = await ScriptPeer.start("alice", `${dir}/a`, { ephemeral: true });
    await alice.send(`connect ${bob.addr}`);
    await alice.waitLine(/^connected bob$/);
    await alice.send("msg bob from a memory-only node");
    await bob.waitLine(event("alice", "from a memory-only node"));
    await bob.send("msg alice noted");
    await alice.waitLine(event("bob", "noted"));
    assert.equal(await alice.quit(), 0);
    assert.deepEqual(await folderState(`${dir}/a`), before);
    // A folder that does not exist is not created.
    const none = `${dir}/never`;
    const e = await ScriptPeer.start("erin", none, { ephemeral: true });
    await e.quit();
    await assert.rejects(Deno.stat(none), Deno.errors.NotFound);
  } finally {
    await bob.quit();
    await Deno.remove(dir, { recursive: true });
  }
});
