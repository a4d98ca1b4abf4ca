/**
 * Issue 13, files in peer mode end to end with real processes: two `parley peer --script` nodes
 * send files to each other straight over their channel — an offer line, `accept`, the `saved` and
 * `sent` lines with the SHA-256, `--accept-files`, an --ephemeral receiver saving into --out and
 * leaving its --home untouched, clear errors for a peer that is not there, a receiver killed
 * mid-transfer that gets the file when it is back, and the full-screen
 * client's /send, /accept and /files against a scripted peer.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { ScriptPeer } from "./peer_harness.ts";
import { PROGRAM_PERMS, rootFile } from "./helpers.ts";
import { colsFor } from "../lib/client/tui/testing.ts";
import { skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test("peer mode files: send, offer, accept, saved and sent lines with the SHA-256; --accept-files; --ephemeral --out", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/src`);
  const one = crypto.getRandomValues(new Uint8Array(65536)), big = new Uint8Array(1024 * 1024 + 123);
  for (let o = 0; o < big.length; o += one.length) big.set(one.subarray(0, big.length - o), o);
  big[big.length - 1] = 7;
  const small = new TextEncoder().encode("minutes of the meeting\n");
  await Deno.writeFile(`${dir}/src/report v1.bin`, big);
  await Deno.writeFile(`${dir}/src/notes.txt`, small);
  const [bigSum, smallSum] = [await sha256Hex(big), await sha256Hex(small)];
  const alice = await ScriptPeer.start("alice", `${dir}/a`, { args: ["--accept-files"] });
  const bob = await ScriptPeer.start("bob", `${dir}/b`, { ephemeral: true, args: ["--out", `${dir}/down`] });
  try {
    await alice.send(`connect ${bob.addr}`);
    await alice.waitLine(/^connected bob$/);
    await bob.waitLine(/^connected alice$/);
    await alice.send("fingerprint bob"); // the number compared, then verified
    await alice.waitLine(/^fingerprint bob /);
    await alice.send("verify bob"); // --accept-files takes files from verified peers only
    await alice.waitLine(/^verified bob$/);
    // alice → bob: bob sees the offer and accepts it.
    await alice.send(`send bob ${dir}/src/report v1.bin`);
    await bob.waitLine(new RegExp(`^offer 1 alice report v1\\.bin ${big.length} ${bigSum}$`));
    await bob.send("accept 1");
    await bob.waitLine(new RegExp(`^saved ${dir}/down/report v1\\.bin ${big.length} ${bigSum}$`));
    await alice.waitLine(new RegExp(`^sent report v1\\.bin ${big.length} ${bigSum}$`));
    assert.equal(await sha256Hex(await Deno.readFile(`${dir}/down/report v1.bin`)), bigSum);
    // bob → alice: --accept-files saves it at once into <home>/downloads.
    await bob.send(`send alice ${dir}/src/notes.txt`);
    await bob.send("wait sent alice 30");
    await alice.send("wait saved bob 30");
    await alice.waitLine(new RegExp(`^saved ${dir}/a/downloads/notes\\.txt ${small.length} ${smallSum}$`));
    await bob.waitLine(new RegExp(`^sent notes\\.txt ${small.length} ${smallSum}$`));
    assert.deepEqual(await Deno.readFile(`${dir}/a/downloads/notes.txt`), small);
    await bob.send("files");
    await bob.waitLine(new RegExp(`^file - in alice done ${big.length} report v1\\.bin$`));
    await bob.waitLine(new RegExp(`^file - out alice sent ${small.length} notes\\.txt$`));
    // Clear errors: a peer nobody knows, a missing file, accepting with nothing offered.
    await bob.send(`send carol ${dir}/src/notes.txt`);
    await bob.send(`send alice ${dir}/src/missing`);
    await bob.send("accept");
    await bob.send("files");
    await bob.waitLine(/^file - out alice sent/, 10_000, bob.lines.length);
    // Commands run in order and say their errors as they fail: once the last one's is there, all are.
    await bob.waitError(/^parley: No file is offered to you$/);
    assert.deepEqual(bob.errors.filter((l) => !/disconnected/.test(l)), [
      "parley: No peer named carol: connect HOST:PORT first", // a script names its own commands (issue 71.20)
      `parley: There is no file ${dir}/src/missing`,
      "parley: No file is offered to you",
    ]);
    assert.deepEqual(alice.errors, []);
    assert.equal(await bob.quit(), 1, "a failed command makes the exit code 1");
    assert.equal(await alice.quit(), 0);
    // The memory-only receiver kept nothing in its --home (it never existed), and no .part anywhere.
    await assert.rejects(Deno.stat(`${dir}/b`), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(`${dir}/down`)].map((e) => e.name), ["report v1.bin"]);
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
});

test("peer mode files: a receiver killed (-9) mid-transfer gets the file when it is back; the sender says so", async () => {
  const dir = await Deno.makeTempDir();
  const big = new Uint8Array(48 * 1024 * 1024);
  for (let o = 0; o < big.length; o += 65536) crypto.getRandomValues(big.subarray(o, o + 65536));
  await Deno.writeFile(`${dir}/big.bin`, big);
  const sum = await sha256Hex(big);
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  let bob = await ScriptPeer.start("bob", `${dir}/b`, { args: ["--accept-files"] });
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await bob.send("fingerprint alice"); // the number compared, then verified
    await bob.waitLine(/^fingerprint alice /);
    await bob.send("verify alice"); // --accept-files takes files from verified peers only
    await bob.waitLine(/^verified alice$/);
    await alice.send(`send bob ${dir}/big.bin`);
    const part = `${dir}/b/downloads/big.bin.part`;
    let had = 0;
    for (let i = 0; i < 1000 && had < 4 * 1024 * 1024; i++) {
      await new Promise((r) => setTimeout(r, 10));
      had = (await Deno.stat(part).catch(() => ({ size: 0 }))).size;
    }
    assert.ok(had >= 4 * 1024 * 1024, `the .part reached ${had} bytes`);
    const port = bob.port;
    bob.proc.kill("SIGKILL");
    await bob.quit();
    assert.ok((await Deno.stat(part)).size < big.length, "killed before the end");
    await alice.waitLine(/^disconnected bob$/);
    bob = await ScriptPeer.start("bob", `${dir}/b`, {
      listen: `127.0.0.1:${port}`,
      args: ["--accept-files"],
    });
    await bob.send("wait saved alice 60");
    await bob.waitLine(new RegExp(`^saved ${dir}/b/downloads/big\\.bin ${big.length} ${sum}$`), 60_000);
    await alice.waitLine(new RegExp(`^sent big\\.bin ${big.length} ${sum}$`), 30_000);
    assert.equal(await sha256Hex(await Deno.readFile(`${dir}/b/downloads/big.bin`)), sum);
    assert.ok(
      alice.errors.some((l) =>
        /^parley: Sending big\.bin to bob stopped: the connection dropped; it goes on when bob is back$/.test(
          l,
        )
      ),
      alice.errors.join("\n"),
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/b/downloads`)].map((e) => e.name), ["big.bin"]);
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
});

test("peer mode files: --accept-files with --ephemeral and no --out is refused before anything starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...PROGRAM_PERMS,
        rootFile("client.ts"),
        "peer",
        "--listen",
        "127.0.0.1:0",
        "--user",
        "erin",
        "--home",
        `${dir}/e`,
        "--ephemeral",
        "--accept-files",
        "--script",
        "-",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    });
    const r = await p.output();
    assert.notEqual(r.code, 0);
    assert.match(new TextDecoder().decode(r.stderr), /--accept-files with --ephemeral needs --out DIR/);
    await assert.rejects(Deno.stat(`${dir}/e`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test({
  name: "peer mode files: the full screen sends with /send and takes an offer with /accept",
  ignore: skipWithoutTmux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmux = new Tmux(0);
    const alice = await ScriptPeer.start("alice", `${dir}/a`);
    const pic = crypto.getRandomValues(new Uint8Array(60_000));
    const notes = new TextEncoder().encode("agenda\n");
    await Deno.writeFile(`${dir}/pic.bin`, pic);
    await Deno.writeFile(`${dir}/notes.txt`, notes);
    try {
      await tmux.startPeer("carol", "carol", `${dir}/c`, "127.0.0.1:0", "", colsFor(dir, 110));
      await tmux.waitFor("carol", (s) => s.includes("peer mode on"), "the peer-mode screen");
      await tmux.type("carol", `/connect ${alice.addr}`);
      await alice.waitLine(/^connected carol$/);
      await tmux.type("carol", `/send alice ${dir}/pic.bin`);
      const picSum = await sha256Hex(pic);
      await alice.waitLine(new RegExp(`^offer 1 carol pic\\.bin ${pic.length} ${picSum}$`));
      await alice.send("accept");
      await alice.waitLine(new RegExp(`^saved ${dir}/a/downloads/pic\\.bin ${pic.length} `));
      await tmux.waitFor(
        "carol",
        (s) => /Sent pic\.bin \(58\.6 KiB\) to alice; SHA-256\s/.test(s) && s.includes(picSum),
        "Sent",
      );
      await alice.send(`send carol ${dir}/notes.txt`);
      await tmux.type("carol", "/query alice");
      await tmux.waitFor(
        "carol",
        (s) => /alice offers notes\.txt \(7 B, key not verified\)/.test(s),
        "the offer",
      );
      await tmux.type("carol", "/accept");
      await tmux.waitFor(
        "carol",
        (s) => /Saved \S+\/c\/downloads\/notes\.txt \(7 B\) from/.test(s),
        "Saved",
      );
      await alice.waitLine(/^sent notes\.txt 7 /);
      assert.deepEqual(await Deno.readFile(`${dir}/c/downloads/notes.txt`), notes);
      await tmux.type("carol", "/files");
      await tmux.waitFor("carol", (s) => /↓ notes\.txt +7 B +from alice +done/.test(s), "/files");
      await tmux.type("carol", "/quit");
    } finally {
      await tmux.stop();
      await alice.quit();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
