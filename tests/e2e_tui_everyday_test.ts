/**
 * Everyday details of the full-screen client in a real terminal (issue 14): real `client.ts`
 * processes in tmux against an in-process server. In a room, nick completion plus text stays in the
 * room; `/msg` to an unknown name leaves no buffer; a family emoji (ZWJ sequence) keeps the
 * member list's border in line.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SOCKET = `parley-everyday-${Deno.pid}`;
const hasTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

async function tmux(...args: string[]): Promise<string> {
  const r = await new Deno.Command("tmux", {
    args: ["-L", SOCKET, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

const screen = (name: string) => tmux("capture-pane", "-p", "-t", name);

async function waitFor(name: string, pred: (s: string) => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    last = await screen(name);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${name}: timed out waiting for ${what}; screen was:\n${last}`);
}

/** Cells a captured row takes: emoji and CJK two, joiners none, the rest one. */
function cells(row: string): number {
  let n = 0;
  for (const ch of row) {
    if (ch === "\u200d" || ch === "\ufe0f") continue;
    n += /[\u{1f000}-\u{1faff}\u3000-\u9fff]/u.test(ch) ? 2 : 1;
  }
  return n;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function type(name: string, text: string): Promise<void> {
  await tmux("send-keys", "-t", name, "-l", text);
  await pause(100);
  await tmux("send-keys", "-t", name, "Enter");
}

Deno.test({
  name:
    "TUI e2e (issue 14): room replies stay in the room, /msg to nobody leaves no buffer, ZWJ emoji keep the border",
  ignore: !hasTmux,
  fn: async () => {
    const t = await startTestServer();
    const homes: string[] = [];
    const users = ["alice", "bob", "carol"];
    try {
      for (const u of users) (await t.client(u, { password: "pw-secret-123", kdf: {} })).close();
      for (const u of users) {
        const home = await Deno.makeTempDir();
        homes.push(home);
        const cmd =
          `cd ${ROOT} && RUST_BACKTRACE=0 NO_COLOR=1 PARLEY_PASSWORD=pw-secret-123 ${Deno.execPath()} run ` +
          `--allow-net --allow-read --allow-write --allow-env --allow-run client.ts --user ${u} ` +
          `--server 127.0.0.1:${t.port} --home ${home} --trust-on-first-use 2>${home}/stderr`;
        await tmux("new-session", "-d", "-s", u, "-x", "100", "-y", "30", cmd);
      }
      for (const u of users) await waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      await type("alice", "/room create dev bob carol");
      await waitFor("alice", (s) => /#dev/.test(s), "room buffer");
      await waitFor("bob", (s) => /#dev/.test(s), "room buffer on bob");
      await type("alice", "/join #dev");
      await waitFor("alice", (s) => /\[#dev\]/.test(s), "in #dev");
      await tmux("send-keys", "-t", "alice", "-l", "car");
      await tmux("send-keys", "-t", "alice", "Tab");
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
      assert.ok(rows.some((r) => r.includes("family 👨👩👧👦 time")), f);
      const borders = new Set(rows.map((r) => cells(r.slice(0, r.lastIndexOf("│")))));
      assert.equal(borders.size, 1, `the member list's border moved:\n${f}`);
      for (const u of users) await type(u, "/quit");
    } finally {
      await tmux("kill-server").catch(() => "");
      await t.stop();
      for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});
