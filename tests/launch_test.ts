/**
 * The steps before full screen (lib/client/launch.ts) against a real server: first contact asks
 * about the fingerprint, login-or-register is a choice, the password prompt is retried after a
 * clear error, and a blocked account names the time.
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { launchTui } from "../lib/client/launch.ts";
import { startTestServer } from "./helpers.ts";

function scriptedPrompts(passwords: string[], answers: { confirm?: boolean[]; choose?: string } = {}) {
  const asked: string[] = [], errors: string[] = [];
  const confirms = [...(answers.confirm ?? [])];
  return {
    asked,
    errors,
    prompts: {
      password: (m: string) => (asked.push(m), Promise.resolve(passwords.shift() ?? null)),
      confirm: (m: string) => (asked.push(m), Promise.resolve(confirms.shift() ?? false)),
      choose: (m: string) => (asked.push(m), Promise.resolve(answers.choose ?? "login")),
      error: (m: string) => void errors.push(m),
    },
  };
}

Deno.test("launchTui() asks about the fingerprint, registers, then retries a wrong password", async () => {
  const t = await startTestServer({ maxAttempts: 5 });
  const home = await Deno.makeTempDir();
  const env = { get: (_: string) => undefined };
  const flags = { server: `127.0.0.1:${t.port}`, user: "alice", home };
  try {
    const reg = scriptedPrompts(["pw-secret-123"], { confirm: [true], choose: "register" });
    let seen = "";
    assert.equal(await launchTui(flags, env, reg.prompts, (b) => Promise.resolve(void (seen = b.user))), 0);
    assert.equal(seen, "alice");
    assert.equal(reg.asked[0], "alice on 127.0.0.1:" + t.port);
    assert.equal(reg.asked[1], "Password for alice");
    assert.match(
      reg.asked[2]!,
      /^First contact with 127\.0\.0\.1:\d+\. Its certificate fingerprint is\n {2}SHA256:/,
    );

    const retry = scriptedPrompts(["wrong-password", "pw-secret-123"], { confirm: [true] });
    assert.equal(await launchTui(flags, env, retry.prompts, () => Promise.resolve()), 0);
    assert.deepEqual(retry.errors, ["Wrong user name or password"]);
    assert.ok(retry.asked.includes("Try again?"));

    const giveUp = scriptedPrompts(["wrong-password"], { confirm: [false] });
    assert.equal(await launchTui(flags, env, giveUp.prompts, () => Promise.resolve()), 1);
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("launchTui() reports a blocked account with its time and fails without prompts in scripts", async () => {
  const t = await startTestServer({ maxAttempts: 1, lockoutSeconds: 60 });
  const home = await Deno.makeTempDir();
  const flags = { server: `127.0.0.1:${t.port}`, user: "bob", home, trustOnFirstUse: true };
  try {
    (await t.client("bob", { password: "pw-secret-123", kdf: {} })).close();
    const p = scriptedPrompts(["nope-nope-1", "pw-secret-123"], { confirm: [true, false] });
    assert.equal(await launchTui(flags, { get: () => undefined }, p.prompts, () => Promise.resolve()), 1);
    assert.match(
      p.errors[0]!,
      /^Account bob is blocked until \d\d:\d\d \(in \d+ min\) after too many failed logins$/,
    );
    assert.match(
      p.errors[1]!,
      /^Account bob is blocked until /,
      "the right password is refused while blocked",
    );
    const scripted = { get: (n: string) => (n === "PARLEY_PASSWORD" ? "pw-secret-123" : undefined) };
    await assert.rejects(
      launchTui(flags, scripted, {}, () => Promise.resolve()),
      (e) => e instanceof BackendError && e.code === "locked",
    );
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});
