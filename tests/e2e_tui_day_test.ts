/**
 * A day of real use (issue 34), as the user sees it: real `client.ts` processes in tmux against an
 * in-process server. The kitty graphics probe never becomes the pane's title, and the title the
 * shell had is back after quitting; the seeds' command names run and /help lists them; Tab completes
 * a registered user who is offline; a stream's overlay names the size the offer said.
 */
import assert from "node:assert/strict";
import { skipWithout, startTestServer, testFfmpeg, VIDEOS_DIR } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** An in-process server, a tmux of its own and `users` registered, each with a fresh folder. */
async function withClients(
  users: string[],
  fn: (tm: Tmux, homes: Record<string, string>) => Promise<void>,
): Promise<void> {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes: Record<string, string> = {};
  try {
    for (const u of users) {
      (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      homes[u] = await Deno.makeTempDir();
    }
    await fn(tm, homes);
  } finally {
    await tm.stop();
    await t.stop();
    for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
}

test({
  name:
    "TUI e2e (issue 34.5): the graphics probe never shows as the pane title, and the title is restored on exit",
  ignore: skipWithoutTmux,
  fn: () =>
    withClients(["alice"], async (tm, homes) => {
      await tm.start("alice", "alice", homes.alice!, { title: "before-parley", keepPane: true });
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      // The fence: keys are read only once the detection ended, and its query was written before it
      // waited, so /who's answer on the screen comes after the query in the pane's output.
      await tm.type("alice", "/who");
      await tm.waitFor("alice", (s) => /\d+ online:/.test(s), "/who answered after the detection");
      assert.doesNotMatch(await tm.title("alice"), /Gi=31|a=q/, "the kitty probe became the title");
      await tm.type("alice", "/quit");
      await tm.waitFor("alice", (s) => s.includes("CLIENT-EXITED"), "the client's exit");
      assert.equal(await tm.title("alice"), "before-parley");
    }),
});

test({
  name:
    "TUI e2e (issue 34.10, 34.15): seed aliases run and show in /help; Tab completes a registered user who is offline",
  ignore: skipWithoutTmux,
  fn: () =>
    withClients(["alice", "zelda"], async (tm, homes) => {
      // Tall enough for all of /help (commands, then the keys: the keys table has grown with issue 39).
      await tm.start("alice", "alice", homes.alice!, { cols: 120, rows: 90 });
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      await tm.type("alice", "/viewusers");
      await tm.waitFor("alice", (s) => /\d+ online:/.test(s), "/viewusers ran /who");
      await tm.type("alice", "/help");
      // The row wraps under its help column (issue 71.21): the aliases may take two rows.
      await tm.waitFor(
        "alice",
        (s) => /\(also \/exit,[\s│]*\/disconnect\)/.test(s),
        "/help lists the aliases",
      );
      await tm.type("alice", "/help viewusers");
      await tm.waitFor("alice", (s) => s.includes("/who (also /viewusers)"), "/help of an alias");
      await tm.keys("alice", "-l", "/msg zel");
      await tm.keys("alice", "Tab");
      await tm.waitFor("alice", (s) => /\/msg zelda\s*$/m.test(s), "zelda (offline) completed");
      await tm.keys("alice", "C-u");
      await tm.type("alice", "/disconnect");
    }),
});

test({
  name:
    "TUI e2e (issue 34.6): a user-to-user stream's overlay names the size its frames come at (sized to the viewer's pane), not 1080p",
  ignore: skipWithoutTmux || skipWithout(testFfmpeg() !== null),
  fn: () =>
    withClients(["alice", "bob"], async (tm, homes) => {
      await tm.start("alice", "alice", homes.alice!, { cols: 120, rows: 40 });
      await tm.start("bob", "bob", homes.bob!, { cols: 120, rows: 40 });
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await tm.type("alice", `/stream bob ${VIDEOS_DIR}/sample.mp4`);
      const offer = await tm.waitFor("bob", (s) =>
        /offers to stream sample\.mp4 \(\d+×\d+\)/.test(s), "the offer");
      const height = /sample\.mp4 \(\d+×(\d+)\)/.exec(offer)![1]!;
      assert.notEqual(height, "1080", "the sender scales the 1080p sample down (at most 720 rows)");
      await tm.keys("bob", "y");
      // The size the frames come at: the first is the one the sender readied at the offered size (issue
      // 75); from the next on, no larger than bob's pane draws (half-blocks: two pixels a row of the
      // 40, less the bars), so far below the offer.
      const sized = (s: string) =>
        Number(/fps · (?:\d+ dropped · )?(\d+)p · /.exec(s)?.[1] ?? NaN);
      const s = await tm.waitFor(
        "bob",
        (s) =>
          sized(s) <= 80,
        "the overlay at the pane's size",
        30_000,
      );
      const shown = sized(s);
      assert.ok(shown >= 2 && shown <= Math.min(Number(height), 80), s);
      await tm.type("bob", "/stop");
    }),
});
