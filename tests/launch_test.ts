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
    // Registering asks for the password twice and checks its length before the certificate
    // question (issue 14): a short one, then two that differ, then a good pair.
    const reg = scriptedPrompts(
      ["short", "pw-secret-123", "pw-secret-999", "pw-secret-123", "pw-secret-123"],
      { confirm: [true, true, true], choose: "register" },
    );
    let seen = "";
    assert.equal(await launchTui(flags, env, reg.prompts, (b) => Promise.resolve(void (seen = b.user))), 0);
    assert.equal(seen, "alice");
    const choose = "Choose a password for alice (at least 8 characters)";
    const repeat = "Repeat the password for alice";
    assert.deepEqual(reg.asked.slice(0, 8), [
      "alice on 127.0.0.1:" + t.port,
      choose,
      "Try again?",
      choose,
      repeat,
      "Try again?",
      choose,
      repeat,
    ]);
    assert.deepEqual(reg.errors, ["Passwords need at least 8 characters", "The two passwords differ"]);
    assert.match(
      reg.asked[8]!,
      /^First contact with 127\.0\.0\.1:\d+\. Its certificate fingerprint is\n {2}SHA256:/,
    );

    const retry = scriptedPrompts(["wrong-password", "pw-secret-123"], { confirm: [true] });
    assert.equal(await launchTui(flags, env, retry.prompts, () => Promise.resolve()), 0);
    assert.ok(
      !retry.asked.includes("alice on 127.0.0.1:" + t.port),
      "the folder holds alice: no Log in/Create menu",
    );
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

Deno.test("register at a terminal (connectAndLogin) asks twice and checks the length before the certificate (issue 14)", async () => {
  const { connectAndLogin } = await import("../lib/client/session_setup.ts");
  const t = await startTestServer();
  const home = await Deno.makeTempDir();
  const env = { get: (_: string) => undefined };
  const flags = { server: `127.0.0.1:${t.port}`, user: "carol", home };
  try {
    const short = scriptedPrompts(["short"], { confirm: [true] });
    await assert.rejects(connectAndLogin(flags, env, short.prompts, { register: true }), {
      code: "weak_password",
    });
    assert.deepEqual(short.asked, ["Choose a password for carol (at least 8 characters)"]);
    const differ = scriptedPrompts(["pw-secret-123", "pw-secret-124"], { confirm: [true] });
    await assert.rejects(connectAndLogin(flags, env, differ.prompts, { register: true }), {
      code: "password_mismatch",
    });
    assert.equal(differ.asked.length, 2, "no certificate question yet");
    const good = scriptedPrompts(["pw-secret-123", "pw-secret-123"], { confirm: [true] });
    const c = await connectAndLogin(flags, env, good.prompts, { register: true });
    assert.equal(c.user, "carol");
    assert.match(good.asked[2]!, /^First contact with/);
    await c.close();
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});
