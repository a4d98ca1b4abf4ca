/**
 * The steps before full screen (lib/client/start/launch.ts) against a real server: first contact asks
 * about the fingerprint, login-or-register is a choice, the password prompt is retried after a
 * clear error, and a blocked account names the time.
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { launchTui } from "../lib/client/start/launch.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { startTestServer } from "./helpers.ts";

/** Answers in order; a confirm answered `undefined` is Enter (the question's default). */
function scriptedPrompts(
  passwords: string[],
  answers: { confirm?: (boolean | undefined)[]; choose?: string } = {},
) {
  const asked: string[] = [], errors: string[] = [];
  const confirms = [...(answers.confirm ?? [])];
  return {
    asked,
    errors,
    prompts: {
      password: (m: string) => (asked.push(m), Promise.resolve(passwords.shift() ?? null)),
      confirm: (m: string, initial = false) => (asked.push(m), Promise.resolve(confirms.shift() ?? initial)),
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
      { confirm: [undefined, undefined, true], choose: "register" }, // Enter tries again, "y" trusts
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

// Issue 34 item 12: after a lockout the client names the next allowed try and waits for it; it
// never asks "Try again?" (whose default, no, ended the program).
Deno.test("launchTui() names a lockout's end, waits for it and logs in; scripts end with the time", async () => {
  const clock = new ManualClock(Date.now());
  const t = await startTestServer({ maxAttempts: 1, lockoutSeconds: 120 }, { clock });
  const home = await Deno.makeTempDir();
  const flags = { server: `127.0.0.1:${t.port}`, user: "bob", home, trustOnFirstUse: true };
  try {
    (await t.client("bob", { password: "pw-secret-123", kdf: {} })).close();
    const p = scriptedPrompts(["nope-nope-1", "pw-secret-123"], { confirm: [false] });
    const waits: [string, number][] = [];
    const prompts = {
      ...p.prompts,
      waitUntil: (message: string, until: number) => {
        waits.push([message, until]);
        clock.advance(until - clock.now() + 1); // the time passes
        return Promise.resolve(true);
      },
    };
    let seen = "";
    const run = (b: { user: string }) => Promise.resolve(void (seen = b.user));
    assert.equal(await launchTui(flags, { get: () => undefined }, prompts, run), 0);
    assert.equal(seen, "bob", "logged in once the lockout ended");
    assert.equal(waits.length, 1);
    assert.match(
      waits[0]![0],
      // (with the day first when the end is past midnight: a run at 23:59 failed on that)
      /^Account bob is locked until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 2 min\) after too many failed logins; the next try is then/,
    );
    assert.ok(!p.asked.includes("Try again?"), p.asked.join(" | "));
    // Without a way to wait, or in a script, it ends at once with the time.
    const noWait = { ...p.prompts, password: () => Promise.resolve("nope-nope-2") };
    await assert.rejects(launchTui(flags, { get: () => undefined }, noWait, run), { code: "locked" });
    const scripted = { get: (n: string) => (n === "PARLEY_PASSWORD" ? "pw-secret-123" : undefined) };
    await assert.rejects(
      launchTui(flags, scripted, {}, () => Promise.resolve()),
      (e) =>
        e instanceof BackendError && e.code === "locked" &&
        /locked until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in \d+ min\)/.test(e.message),
    );
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("launchTui() on a server that registers by invitation asks for the code", async () => {
  const t = await startTestServer({ registration: "invite" });
  const home = await Deno.makeTempDir();
  const flags = { server: `127.0.0.1:${t.port}`, user: "erin", home, trustOnFirstUse: true };
  try {
    const code = (await t.srv.core.accounts.invites.make("console")).code;
    const p = scriptedPrompts(Array(6).fill("pw-secret-123"), { choose: "register" });
    const texts = ["not-a-code", code];
    const prompts = {
      ...p.prompts,
      text: (m: string) => (p.asked.push(m), Promise.resolve(texts.shift() ?? null)),
    };
    let seen = "";
    assert.equal(
      await launchTui(flags, { get: () => undefined }, prompts, (b) => Promise.resolve(void (seen = b.user))),
      0,
    );
    assert.equal(seen, "erin");
    assert.deepEqual(p.errors.map((e) => e.split(":")[0]), [
      "This server takes new accounts by invitation only",
      "That invitation code is not valid (used, expired or mistyped); ask an admin for a new one",
    ]);
    assert.equal(p.asked.filter((m) => m.startsWith("Invitation code")).length, 2);
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("register at a terminal (connectAndLogin) asks twice and checks the length before the certificate (issue 14)", async () => {
  const { connectAndLogin } = await import("../lib/client/start/session_setup.ts");
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
