/**
 * File transfers on a real screen (issue 36, progress everywhere a transfer runs): real `client.ts`
 * processes in tmux against an in-process server. A big file's one line in the conversation moves
 * while it goes — bytes and rate change, in plaintext sizes, under the file's name — and ends with
 * "done", on the sender's screen and on the receiver's; `/send-file #room FILE` offers one upload
 * to the room (its offer line in the room, not in the sender's DM: issue 71.4), a member takes it
 * with `/accept`, and the transfer's line is in the room.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { test } from "./deadline.ts";
import { PROGRAM_PERMS, startTestServer, type TestServer } from "./helpers.ts";
import { colsFor } from "../lib/client/tui/testing.ts";
import { dmOnScreens, PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** The size of the big file: with the server's disk slowed (`slowDisk`) it takes seconds either way. */
const BIG = 32 * 1024 * 1024;

/** Each body the server stores or reads waits `ms` first: a transfer goes at a known, slow pace. */
function slowDisk(t: TestServer, ms = 40): void {
  const files = t.srv.files;
  const append = files.append.bind(files), readInto = files.readInto.bind(files);
  const wait = () => new Promise((r) => setTimeout(r, ms));
  files.append = async (f, body) => (await wait(), await append(f, body));
  files.readInto = async (f, off, out) => (await wait(), await readInto(f, off, out));
}

/** "│ ↓ big.bin [##--------] 20.0 MiB/32.0 MiB 10.0 MiB/s ETA 0:08" in the conversation: done, total, rate. */
const LIVE = (arrow: string, name: string) =>
  new RegExp(`│ ${arrow} ${name.replace(".", "\\.")} \\[[#-]+\\] (\\S+ \\S+)/(\\S+ \\S+) (\\S+ ?\\S*/s) ETA`);

/**
 * Reads `name`'s screen as fast as tmux answers until `end` shows, and returns every distinct
 * live progress figure seen on the way (done, total, rate).
 */
async function watchLine(tm: Tmux, name: string, live: RegExp, end: RegExp, ms = 90_000) {
  const seen: { done: string; total: string; rate: string }[] = [];
  const stop = Date.now() + ms;
  while (Date.now() < stop) {
    const s = await tm.screen(name);
    for (const row of s.split("\n")) {
      const m = live.exec(row);
      if (m && !seen.some((x) => x.done === m[1] && x.rate === m[3])) {
        seen.push({ done: m[1]!, total: m[2]!, rate: m[3]! });
      }
    }
    if (end.test(s)) return { seen, screen: s };
  }
  throw new Error(`${name}: no ${end} within ${ms} ms; seen ${JSON.stringify(seen)}`);
}

function assertMoved(seen: { done: string; total: string; rate: string }[], what: string): void {
  const dones = new Set(seen.map((x) => x.done));
  assert.ok(dones.size >= 2, `${what}: the line moved (${JSON.stringify(seen)})`);
  assert.ok(seen.some((x) => /^\d/.test(x.rate)), `${what}: a rate was shown (${JSON.stringify(seen)})`);
  assert.ok(
    seen.every((x) => x.total === "32.0 MiB"),
    `${what}: the plaintext size (${JSON.stringify(seen)})`,
  );
}

test({
  name:
    "TUI files on screen: a big file's one line moves (bytes, rate) and ends with done, sending and receiving",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("a big file is coming", async (tm, t) => {
      slowDisk(t);
      const dir = await Deno.makeTempDir();
      try {
        const path = `${dir}/big.bin`;
        using f = await Deno.open(path, { create: true, write: true });
        await f.truncate(BIG);
        await tm.type("alice", `/send-file bob ${path}`);
        const up = await watchLine(tm, "alice", LIVE("↑", "big.bin"), /Sent big\.bin \(32\.0 MiB\) to bob/);
        assertMoved(up.seen, "sending");
        await tm.waitFor("alice", (s) => /│ ↑ big\.bin done/.test(s), "the sender's line ends with done");
        await tm.waitFor("bob", (s) => /alice offers big\.bin \(32\.0 MiB/.test(s), "the offer");
        await tm.type("bob", "/accept");
        const down = await watchLine(tm, "bob", LIVE("↓", "big.bin"), /Saved \S+big\.bin \(32\.0/);
        assertMoved(down.seen, "receiving");
        const s = await tm.waitFor("bob", (s) =>
          /│ ↓ big\.bin done/.test(s), "the receiver's line ends with done");
        assert.doesNotMatch(s, /big\.bin \[/, "no live line left behind");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

test({
  name: "TUI files on screen: /send-file #room offers one upload to the room; a member takes it with /accept",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("a room file is coming", async (tm) => {
      const dir = await Deno.makeTempDir();
      try {
        const data = crypto.getRandomValues(new Uint8Array(60_000));
        const sum = await sha256Hex(data);
        await Deno.writeFile(`${dir}/notes.bin`, data);
        await tm.type("alice", "/room create team bob");
        await tm.waitFor("bob", (s) => /#team/.test(s), "the room on bob");
        await tm.type("alice", "/join #team");
        await tm.waitFor("alice", (s) => /\[#team\]/.test(s), "alice in #team");
        await tm.type("alice", `/send-file #team ${dir}/notes.bin`);
        await tm.waitFor(
          "alice",
          (s) => s.includes("Sending notes.bin to every member of #team…"),
          "Sending",
        );
        const a = await tm.waitFor(
          "alice",
          (s) => /Sent notes\.bin \(58\.6 KiB\) to bob; SHA-256/.test(s) && /│ ↑ notes\.bin done/.test(s),
          "Sent, and the transfer's line in #team",
        );
        assert.ok(a.includes(sum.slice(0, 12)), "the SHA-256 shown");
        // The room's offer is in #team, not in bob's DM with alice, where he is (issue 71.4).
        await tm.waitFor("bob", (s) => /\d\.#team +\d*!/.test(s), "#team marked as having news");
        assert.doesNotMatch(await tm.screen("bob"), /alice offers notes\.bin/, "not in the DM on screen");
        await tm.type("bob", "/join #team");
        await tm.waitFor("bob", (s) =>
          /\[#team\]/.test(s) && /alice offers notes\.bin to #team/.test(s), "the offer in #team");
        await tm.type("bob", "/accept");
        const b = await tm.waitFor(
          "bob",
          (s) =>
            /Saved \S+notes\.bin \(58\.6/.test(s) && /│ ↓ notes\.bin done/.test(s),
          "Saved, and the transfer's line in #team",
        );
        const saved = /Saved (\S+notes\.bin) /.exec(b)![1]!;
        assert.equal(await sha256Hex(await Deno.readFile(saved)), sum);
        assert.doesNotMatch(b, /\d\.#team\b.*\d\.#team/, "no second buffer for the room");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

/** Runs a scripted command in a tmux pane (standard error a terminal), its exit code said at the end. */
async function inPane(tm: Tmux, name: string, user: string, home: string, args: string): Promise<void> {
  const cmd =
    `cd ${ROOT} && NO_COLOR=1 RUST_BACKTRACE=0 PARLEY_PASSWORD=${PASSWORD} ${Deno.execPath()} run ` +
    `${PROGRAM_PERMS.join(" ")} client.ts ${args} --user ${user} --server 127.0.0.1:${tm.port} ` +
    `--home ${home} --trust-on-first-use; echo EXIT=$?; sleep 600`;
  await tm.run("new-session", "-d", "-s", name, "-x", String(colsFor(home, 120)), "-y", "12", cmd);
}

/** "↑ big.bin [####----------------] 9.6 MiB/32.0 MiB 3.2 MiB/s ETA 0:07" on standard error. */
const CLI_LIVE = (arrow: string) =>
  new RegExp(`${arrow} big\\.bin \\[[#-]+\\] (\\S+ \\S+)/(\\S+ \\S+) (\\S+ ?\\S*/s) ETA`);

test({
  name:
    "scripted files on a terminal: send-file and receive show rate and ETA on standard error, then the fixed line",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const dir = await Deno.makeTempDir();
    try {
      const [ha, hb] = [`${dir}/a`, `${dir}/b`];
      for (const [u, h] of [["alice", ha], ["bob", hb]] as const) {
        assert.equal((await tm.cli(u, h, "register")).code, 0);
      }
      slowDisk(t);
      const path = `${dir}/big.bin`;
      using f = await Deno.open(path, { create: true, write: true });
      await f.truncate(BIG);
      await inPane(tm, "send", "alice", ha, `send-file bob ${path} --relay`);
      const up = await watchLine(tm, "send", CLI_LIVE("↑"), /EXIT=\d/);
      assert.match(up.screen, /EXIT=0/);
      assert.match(up.screen, /^sent big\.bin 33554432 [0-9a-f]{64}$/m, "the fixed line on standard output");
      assert.match(up.screen, /↑ big\.bin done/);
      assertMoved(up.seen, "send-file");
      await inPane(tm, "receive", "bob", hb, `receive --from alice --out ${dir}/down`);
      const down = await watchLine(tm, "receive", CLI_LIVE("↓"), /EXIT=\d/);
      assert.match(down.screen, /EXIT=0/);
      assert.match(down.screen, new RegExp(`^saved ${dir}/down/big\\.bin 33554432 [0-9a-f]{64}$`, "m"));
      assertMoved(down.seen, "receive");
    } finally {
      await tm.stop();
      await t.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
