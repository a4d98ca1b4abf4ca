/**
 * The password prompt before full screen, in a real terminal (issue 71.2, 71.3): a full-screen
 * `client.ts` in tmux without PARLEY_PASSWORD against an in-process server that locks an account
 * after one wrong try. What is typed during the lockout's countdown is never shown, nor under the
 * next `Password for` prompt; Ctrl-C during the countdown quits; Ctrl-C at the prompt says it was
 * cancelled, never "No password: … run on a terminal".
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** lena registered; her client at its `Password for lena` prompt (no password in the environment). */
async function atPasswordPrompt(fn: (tm: Tmux, home: string) => Promise<void>): Promise<void> {
  const t = await startTestServer({ maxAttempts: 1, lockoutSeconds: 4 });
  const tm = new Tmux(t.port);
  const home = await Deno.makeTempDir();
  try {
    (await t.client("lena", { password: PASSWORD, kdf: {} })).close();
    await tm.start("lena", "lena", home, { env: "PARLEY_NO_PASSWORD=1", keepPane: true, cols: 160 });
    await tm.waitFor("lena", (s) => s.includes("Log in"), "the login-or-register choice");
    await tm.keys("lena", "Enter");
    await tm.waitFor("lena", (s) => s.includes("Password for lena"), "the password prompt");
    await fn(tm, home);
  } finally {
    await tm.stop();
    await t.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

const stderrOf = (home: string) => Deno.readTextFile(`${home}/stderr-lena`).catch(() => "");

test({
  name: "TUI login: what is typed during a lockout's countdown is never shown; Ctrl-C then quits",
  ignore: skipWithoutTmux,
  fn: () =>
    atPasswordPrompt(async (tm) => {
      await tm.type("lena", "bad-pass-4");
      await tm.waitFor("lena", (s) => /locked until .*Ctrl-C quits/.test(s), "the lockout notice");
      await tm.run("send-keys", "-t", "lena", "-l", "bad-pass-5");
      // The countdown ends (4 s): the next prompt, drawn after the keys typed meanwhile (a fence),
      // holds them masked; they were never echoed on the screen above it.
      let s = await tm.waitFor(
        "lena",
        (x) => (x.match(/Password for lena/g) ?? []).length >= 2,
        "the next prompt",
      );
      assert.doesNotMatch(s, /bad-pass-5/, `shown under the next prompt:\n${s}`);
      assert.match(s, /•{10}/, "what was typed is in the prompt, masked");
      // Another wrong try (the one typed ahead), a second countdown, Ctrl-C in it: the client ends.
      await tm.keys("lena", "Enter");
      await tm.waitFor("lena", (x) => (x.match(/Ctrl-C quits/g) ?? []).length >= 2, "the second lockout");
      await tm.keys("lena", "C-c");
      s = await tm.waitFor("lena", (x) => x.includes("CLIENT-EXITED"), "the client to end", 2500);
      assert.doesNotMatch(s, /bad-pass-5/);
    }),
});

test({
  name:
    "TUI login: Ctrl-C at the password prompt says it was cancelled, not 'No password … run on a terminal'",
  ignore: skipWithoutTmux,
  fn: () =>
    atPasswordPrompt(async (tm, home) => {
      await tm.keys("lena", "C-c");
      await tm.waitFor("lena", (s) => s.includes("CLIENT-EXITED"), "the client to end");
      const err = await stderrOf(home);
      assert.match(err, /parley: Cancelled at the password prompt/, err);
      assert.doesNotMatch(err, /No password/, err);
    }),
});
