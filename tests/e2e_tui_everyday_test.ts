/**
 * Everyday details of the full-screen client in a real terminal (issue 14): real `client.ts`
 * processes in tmux against an in-process server. In a room, nick completion plus text stays in the
 * room; `/msg` to an unknown name leaves no buffer; a family emoji (ZWJ sequence) keeps the
 * member list's border in line.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** Cells a captured row takes: emoji and CJK two, joiners none, the rest one; a joined emoji its first part's (tmux). */
function cells(row: string): number {
  let n = 0;
  for (const { segment } of new Intl.Segmenter().segment(row)) {
    for (const ch of segment.split("\u200d")[0]!) {
      if (ch === "\ufe0f") continue;
      n += /[\u{1f000}-\u{1faff}\u3000-\u9fff]/u.test(ch) ? 2 : 1;
    }
  }
  return n;
}

test({
  name:
    "TUI e2e (issue 14): room replies stay in the room, /msg to nobody leaves no buffer, ZWJ emoji keep the border",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes: string[] = [];
    const users = ["alice", "bob", "carol"];
    const type = (u: string, text: string) => tm.type(u, text);
    const waitFor = (u: string, pred: (s: string) => boolean, what: string) => tm.waitFor(u, pred, what);
    try {
      for (const u of users) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      for (const u of users) {
        const home = await Deno.makeTempDir();
        homes.push(home);
        await tm.start(u, u, home);
      }
      for (const u of users) await waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      await type("alice", "/room create dev bob carol");
      await waitFor("alice", (s) => /#dev/.test(s), "room buffer");
      await waitFor("bob", (s) => /#dev/.test(s), "room buffer on bob");
      await type("alice", "/join #dev");
      await waitFor("alice", (s) => /\[#dev\]/.test(s), "in #dev");
      await tm.keys("alice", "-l", "car");
      await tm.keys("alice", "Tab");
      await waitFor("alice", (s) => /\[#dev\] carol:/.test(s), "completed nick");
      await type("alice", "see you at noon");
      await type("bob", "/join #dev");
      await waitFor("bob", (s) => s.includes("carol: see you at noon"), "the reply in #dev on bob");
      const a = await waitFor("alice", (s) => s.includes("carol: see you at noon"), "the reply in #dev");
      assert.doesNotMatch(a, /\d\.carol/, "no query buffer for carol was opened");

      await type("alice", "/msg nosuchuser hello");
      const m = await waitFor("alice", (s) => /nosuchuser/.test(s) && /!!/.test(s), "the error");
      assert.doesNotMatch(m, /\d\.nosuchuser/, "no buffer for an unknown name");

      await type("bob", "family 👨‍👩‍👧‍👦 time");
      const f = await waitFor("alice", (s) => s.includes("family"), "the emoji line");
      const rows = f.split("\n").filter((r) => /^ +│\d\d:\d\d/.test(r));
      // A family of four is longer than a tmux cell holds: drawn as its parts, every person on screen.
      assert.ok(rows.some((r) => r.includes("family 👨👩👧👦 time")), f);
      const borders = new Set(rows.map((r) => cells(r.slice(0, r.lastIndexOf("│")))));
      assert.equal(borders.size, 1, `the member list's border moved:\n${f}`);
      for (const u of users) await type(u, "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});
