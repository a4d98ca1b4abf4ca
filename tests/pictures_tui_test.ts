/**
 * Pictures inline (issue 39.6) in a real terminal: two full-screen `client.ts` processes in tmux
 * (half-blocks forced with PARLEY_RENDERER) against an in-process server. alice sends bob a small
 * PNG: bob's screen shows the offer and no picture; once he accepts, the thumbnail is drawn in
 * half-blocks under its line; Alt+V shows it over the pane and Esc goes back. A PNG whose header
 * says 60000×60000 is saved but refused with a line, never decoded.
 */
import assert from "node:assert/strict";
import { startTestServer, testFfmpeg } from "./helpers.ts";
import { colsFor } from "../lib/client/tui/testing.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";
import { pngHead } from "../lib/media/_testing.ts";
import { ScriptPeer } from "./peer_harness.ts";

const ffmpeg = testFfmpeg();

const blocks = (s: string) => (s.match(/▀/g) ?? []).length;
/** Rows of the pane holding truecolor cells (half-block pixels; capture-pane -e keeps the colours). */
const pictureRows = async (tm: Tmux, name: string) =>
  (await tm.run("capture-pane", "-p", "-e", "-t", name)).split("\n").filter((l) =>
    // deno-lint-ignore no-control-regex
    /\x1b\[[0-9;]*[34]8;2;/.test(l)
  )
    .length;

/**
 * `/files` typed after the offer was drawn (one process, in order): the offer is listed as still
 * `offered` — waiting, numbered for /accept —, so no download began on its own. Returns the screen.
 */
async function offerStillWaiting(tm: Tmux, name: string): Promise<string> {
  await tm.type(name, "/files");
  const s = await tm.waitFor(
    name,
    (s) => /↓ pic\.png .* (offered|accepted|receiving|done|paused|failed)/.test(s),
    "the /files list",
  );
  assert.match(s, /1 {2}↓ pic\.png .* offered/, `the offer waits for /accept:\n${s}`);
  return s;
}

test({
  name:
    "TUI pictures: a PNG shows as a half-block thumbnail only after /accept; Alt+V full size, Esc back; a bomb is refused",
  ignore: skipWithoutTmux || ffmpeg === null,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes: string[] = [];
    const src = await Deno.makeTempDir();
    try {
      const png = `${src}/pic.png`;
      const made = await new Deno.Command(ffmpeg!, {
        args: [
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          "testsrc=s=64x32",
          "-frames:v",
          "1",
          png,
        ],
      }).output();
      assert.ok(made.success);
      await Deno.writeFile(`${src}/bomb.png`, pngHead(60000, 60000));
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      for (const u of ["alice", "bob"]) {
        const home = await Deno.makeTempDir();
        homes.push(home);
        await tm.start(u, u, home, {
          cols: colsFor(home, 100), // the "Saved …/pic.png" line on one line wherever the temp folder is
          rows: 30,
          env: `PARLEY_PASSWORD=${PASSWORD} PARLEY_RENDERER=halfblock`,
        });
      }
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await tm.type("alice", `/send bob ${png}`);
      await tm.type("bob", "/query alice");
      await tm.waitFor("bob", (s) => /alice offers pic\.png/.test(s), "the offer");
      // Not shown (nor read) before the user accepts: bob's own list, asked after the offer came,
      // still holds it waiting (no download began), and nothing is drawn.
      let s = await offerStillWaiting(tm, "bob");
      assert.equal(blocks(s), 0, s);
      assert.doesNotMatch(s, /🖼/);
      await tm.type("bob", "/accept");
      s = await tm.waitFor("bob", (s) => /🖼 pic\.png 64×32/.test(s) && blocks(s) > 20, "the thumbnail");
      assert.match(s, /Saved .*pic\.png/);
      const thumbRows = await pictureRows(tm, "bob");
      assert.ok(thumbRows >= 4 && thumbRows <= 8, `thumbnail rows: ${thumbRows}\n${s}`);
      // Full size over the pane, then back.
      await tm.keys("bob", "M-v");
      s = await tm.waitFor(
        "bob",
        (s) => /pic\.png 64×32 — Esc: back/.test(s) && blocks(s) > 100,
        "the full view",
      );
      const fullRows = await pictureRows(tm, "bob");
      assert.ok(
        fullRows >= 16,
        `the picture fills the pane (74×24 cells: 19 rows of a 2:1 picture): ${fullRows}`,
      );
      await tm.keys("bob", "Escape");
      s = await tm.waitFor(
        "bob",
        (s) => !/Esc: back/.test(s) && /🖼 pic\.png/.test(s),
        "the conversation back",
      );
      // The fence: text typed after Esc is drawn after everything Esc drew (one process, in order).
      await tm.run("send-keys", "-t", "bob", "-l", "typed-after-esc");
      await tm.waitFor("bob", (s) => s.includes("typed-after-esc"), "the text typed after Esc");
      assert.equal(
        await pictureRows(tm, "bob"),
        thumbRows,
        "the thumbnail again, nothing of the full view left",
      );
      await tm.keys("bob", "C-u");
      await tm.waitFor("bob", (s) => !s.includes("typed-after-esc"), "the input line emptied");
      // A decompression bomb: saved, refused with a line, nothing decoded.
      await tm.type("alice", `/send bob ${src}/bomb.png`);
      await tm.waitFor("bob", (s) => /alice offers bomb\.png/.test(s), "the bomb offer");
      await tm.type("bob", "/accept");
      s = await tm.waitFor(
        "bob",
        (s) => /not shown: it is 60000×60000 pixels/.test(s),
        "the refusal line",
        20_000,
      );
      assert.match(s, /Saved .*bomb\.png/);
      for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [...homes, src]) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name: "TUI pictures in peer mode: a PNG from a peer shows as a thumbnail once accepted",
  ignore: skipWithoutTmux || ffmpeg === null,
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmux = new Tmux(0);
    const alice = await ScriptPeer.start("alice", `${dir}/a`);
    try {
      const png = `${dir}/pic.png`;
      const made = await new Deno.Command(ffmpeg!, {
        args: [
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          "testsrc=s=64x32",
          "-frames:v",
          "1",
          png,
        ],
      }).output();
      assert.ok(made.success);
      await tmux.startPeer("carol", "carol", `${dir}/c`, "127.0.0.1:0", "PARLEY_RENDERER=halfblock");
      await tmux.waitFor("carol", (s) => s.includes("peer mode on"), "the peer-mode screen");
      await tmux.type("carol", `/connect ${alice.addr}`);
      await alice.waitLine(/^connected carol$/);
      await alice.send(`send carol ${png}`);
      await tmux.type("carol", "/query alice");
      await tmux.waitFor("carol", (s) => /alice offers pic\.png/.test(s), "the offer");
      assert.equal(blocks(await offerStillWaiting(tmux, "carol")), 0, "nothing shown before /accept");
      await tmux.type("carol", "/accept");
      await tmux.waitFor("carol", (s) => /🖼 pic\.png 64×32/.test(s) && blocks(s) > 20, "the thumbnail");
      assert.ok((await pictureRows(tmux, "carol")) >= 4);
      await tmux.type("carol", "/quit");
    } finally {
      await tmux.stop();
      await alice.quit();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
