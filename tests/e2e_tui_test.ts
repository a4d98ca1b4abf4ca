/**
 * End to end for the full-screen client: real `client.ts` processes in tmux pseudo-terminals
 * against a real server (in-process, port 0, real TLS); the screens are read back with
 * `capture-pane`. A DM typed in one appears on the other's screen; `/who` lists everyone; a room
 * conversation among three.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { skipWithoutTmux } from "./tmux.ts";
import { test } from "./deadline.ts";
import { until } from "../lib/common/wait_testing.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SOCKET = `parley-test-${Deno.pid}`;

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

async function waitFor(
  name: string,
  pred: (s: string) => boolean,
  what: string,
  ms = 20_000,
): Promise<string> {
  let last = "";
  await until(
    async () => pred(last = await screen(name)),
    () => `${what} on ${name}'s screen; screen was:\n${last}`,
    ms,
    150,
  );
  return last;
}

/** Types a line: the text, then Enter in a separate call (one chunk would look like a paste). */
async function type(name: string, text: string): Promise<void> {
  await tmux("send-keys", "-t", name, "-l", text);
  await new Promise((r) => setTimeout(r, 100));
  await tmux("send-keys", "-t", name, "Enter");
}

test({
  name: "TUI e2e: DM between two screens, /who, and a room conversation among three",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const homes: string[] = [];
    try {
      for (const u of ["alice", "bob", "carol"]) {
        (await t.client(u, { password: "pw-secret-123", kdf: {} })).close();
      }
      for (const u of ["alice", "bob", "carol"]) {
        const home = await Deno.makeTempDir();
        homes.push(home);
        const cmd =
          `cd ${ROOT} && RUST_BACKTRACE=0 NO_COLOR=1 PARLEY_PASSWORD=pw-secret-123 ${Deno.execPath()} run ` +
          `--allow-net --allow-read --allow-write --allow-env --allow-run client.ts --user ${u} ` +
          `--server 127.0.0.1:${t.port} --home ${home} --trust-on-first-use 2>${home}/stderr`;
        await tmux("new-session", "-d", "-s", u, "-x", "100", "-y", "30", cmd);
      }
      for (const u of ["alice", "bob", "carol"]) {
        await waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await waitFor("alice", (s) => /bob/.test(s) && /carol/.test(s), "member list");

      await type("alice", "bob: hello bob, 你好 😀");
      const bobList = await waitFor("bob", (s) => /2\.alice\s+1/.test(s), "unread DM buffer");
      assert.match(bobList, /E2E on/);
      await tmux("send-keys", "-t", "bob", "M-2");
      const bobDm = await waitFor("bob", (s) => s.includes("hello bob, 你好"), "DM text on bob's screen");
      assert.match(bobDm, /alice │ hello bob, 你好/);

      await type("alice", "/who");
      const who = await waitFor("alice", (s) => /3 online/.test(s), "/who output");
      for (const u of ["alice", "bob", "carol"]) {
        // Not an admin: no addresses (issue 10 item 13).
        assert.match(who, new RegExp(`${u} — (free|busy) — active since`));
      }

      await type("alice", "/room create dev bob carol");
      await waitFor("alice", (s) => /#dev/.test(s), "room buffer on alice");
      await waitFor("carol", (s) => /#dev/.test(s), "room buffer on carol");
      await type("alice", "/join #dev");
      await type("alice", "standup in five");
      // Unread on carol's list: "1!" for the room's creation, then "2,1!" with the line (a slow machine may skip the first).
      await waitFor("carol", (s) => /#dev\s+(1!|2,1!)/.test(s), "unread room on carol");
      await type("carol", "/join #dev");
      await waitFor("carol", (s) => s.includes("standup in five"), "room message on carol");
      await type("carol", "on my way");
      await waitFor("alice", (s) => s.includes("on my way"), "carol's reply on alice");
      await type("bob", "/join #dev");
      const bobRoom = await waitFor(
        "bob",
        (s) => s.includes("standup in five") && s.includes("on my way"),
        "room on bob",
      );
      assert.match(bobRoom, /carol │ on my way/);
      for (const u of ["alice", "bob", "carol"]) await type(u, "/quit");
    } finally {
      await tmux("kill-server").catch(() => "");
      await t.stop();
      for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});
