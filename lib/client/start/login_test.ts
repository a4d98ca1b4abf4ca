/**
 * The logins of start/ in memory, behind their login ports (issue 70 item 8): the full-screen client's
 * (launch.ts `launchTui`: a wrong password asks "Try again?", a lockout waits for its time, Ctrl-C at a
 * prompt leaves), `parley passwd`'s (account_passwd.ts) and a reconnect's (login_again.ts). No socket,
 * no server: the login port answers from a script of outcomes, the prompts from a script of answers.
 */
import assert from "node:assert/strict";
import { BackendError, type ChatBackend } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { ServerSession } from "../core/server_session.ts";
import type { Connection } from "../session/connection.ts";
import { type LaunchPrompts, launchTui } from "./launch.ts";
import { passwdCommand } from "./account_passwd.ts";
import { loginAgain } from "./login_again.ts";
import type { ClientEnv, ConnectFlags, LoginChoices } from "./session_setup.ts";

const UNTIL = Date.UTC(2026, 0, 1, 12, 5);
const wrong = () => new BackendError("bad_credentials", "Wrong user name or password");
const locked = () => new BackendError("locked", "Too many failed logins: locked until 12:05", UNTIL);
const flags: ConnectFlags = {
  server: "127.0.0.1:9797",
  user: "alice",
  home: "/nonexistent/parley-login-test",
};
const envOf = (vars: Record<string, string>): ClientEnv => ({ get: (n) => vars[n] });

/** Scripted prompts: each answers from its list in turn, and every question is kept. */
function scripted(a: {
  password?: (string | null)[];
  confirm?: boolean[];
  wait?: boolean[];
  choose?: (string | null)[];
}) {
  const asked: string[] = [], errors: string[] = [], waits: [string, number][] = [];
  const next = <T>(list: T[] | undefined, q: string): T => {
    asked.push(q);
    assert.ok(list?.length, `an answer for "${q}"`);
    return list.shift()!;
  };
  const prompts: LaunchPrompts = {
    password: (m) => Promise.resolve(next(a.password, m)),
    confirm: (m) => Promise.resolve(next(a.confirm, m)),
    error: (m) => void errors.push(m),
    ...(a.wait
      ? { waitUntil: (m, until) => (waits.push([m, until]), Promise.resolve(next(a.wait, m))) }
      : {}),
    ...(a.choose ? { choose: (m) => Promise.resolve(next(a.choose, m)) } : {}),
  };
  return { prompts, asked, errors, waits };
}

/** A login port answering from `outcomes` in turn (an error, or a core in memory); what it was given. */
function loginPort(outcomes: (BackendError | "ok")[]) {
  const tried: { password: string | undefined; o: LoginChoices }[] = [];
  let closed = 0;
  const client = { user: "alice", codec: { encrypted: false }, close: () => Promise.resolve(void closed++) };
  const login = (_f: ConnectFlags, env: ClientEnv, _p: unknown, o: LoginChoices = {}) => {
    tried.push({ password: env.get("PARLEY_PASSWORD"), o });
    const r = outcomes.shift();
    assert.ok(r, "a login outcome left");
    return r === "ok" ? Promise.resolve(client as unknown as ChatClient) : Promise.reject(r);
  };
  return { login, tried, closed: () => closed };
}

Deno.test("launchTui: a wrong password, a lockout's countdown and Ctrl-C at a prompt (login port in memory)", async () => {
  const cases: {
    name: string;
    env?: Record<string, string>;
    answers: Parameters<typeof scripted>[0];
    outcomes: (BackendError | "ok")[];
    /** The exit code, or the code of the error it ends with. */
    ends: number | string;
    passwords: (string | undefined)[];
    errors?: string[];
    waited?: number[];
  }[] = [
    {
      name: "a wrong password, then the right one",
      answers: { password: ["wrong-pass", "right-pass"], confirm: [true] },
      outcomes: [wrong(), "ok"],
      ends: 0,
      passwords: ["wrong-pass", "right-pass"],
      errors: ["Wrong user name or password"],
    },
    {
      name: "a wrong password, then no at Try again? (or Ctrl-C)",
      answers: { password: ["wrong-pass"], confirm: [false] },
      outcomes: [wrong()],
      ends: 1,
      passwords: ["wrong-pass"],
      errors: ["Wrong user name or password"],
    },
    {
      name: "a lockout: waits for its time, then asks the password again",
      answers: { password: ["pass-one", "pass-two"], wait: [true] },
      outcomes: [locked(), "ok"],
      ends: 0,
      passwords: ["pass-one", "pass-two"],
      waited: [UNTIL],
    },
    {
      name: "a lockout, Ctrl-C during the countdown",
      answers: { password: ["pass-one"], wait: [false] },
      outcomes: [locked()],
      ends: 1,
      passwords: ["pass-one"],
      waited: [UNTIL],
    },
    {
      name: "Ctrl-C at the password prompt: cancelled",
      answers: { password: [null] },
      outcomes: [],
      ends: "cancelled",
      passwords: [],
    },
    { name: "Ctrl-C at log in / create", answers: { choose: [null] }, outcomes: [], ends: 1, passwords: [] },
    {
      name: "a script's wrong password: no question, the error",
      env: { PARLEY_PASSWORD: "wrong-pass" },
      answers: { confirm: [] },
      outcomes: [wrong()],
      ends: "bad_credentials",
      passwords: ["wrong-pass"],
    },
    {
      name: "a script's lockout ends with its time",
      env: { PARLEY_PASSWORD: "pass-one" },
      answers: { wait: [] },
      outcomes: [locked()],
      ends: "locked",
      passwords: ["pass-one"],
    },
  ];
  for (const c of cases) {
    const s = scripted(c.answers);
    const port = loginPort([...c.outcomes]);
    let ran = 0;
    const run = (b: ChatBackend) => (ran++, assert.ok(b), Promise.resolve());
    const ended = await launchTui(flags, envOf(c.env ?? {}), s.prompts, run, port.login).then(
      (code) => code,
      (e) => e instanceof BackendError ? e.code : Promise.reject(e),
    );
    assert.equal(ended, c.ends, c.name);
    assert.deepEqual(port.tried.map((t) => t.password), c.passwords, c.name);
    assert.deepEqual(s.errors, c.errors ?? [], c.name);
    assert.deepEqual(
      s.waits.map(([m, until]) => (assert.match(m, /locked until 12:05.*Ctrl-C quits/), until)),
      c.waited ?? [],
      c.name,
    );
    assert.equal(ran, c.ends === 0 ? 1 : 0, `${c.name}: the screen ran`);
    assert.equal(port.closed(), ran, `${c.name}: the core closed after the screen`);
  }
});

Deno.test("passwdCommand: mismatch, a short password, Ctrl-C, a wrong current password (login port in memory)", async () => {
  const cases: {
    name: string;
    env?: Record<string, string>;
    password: (string | null)[];
    outcomes: (BackendError | "ok")[];
    code: string;
    message: RegExp;
    /** The passwords the login port was given (the current one, then the new one for a reseal). */
    passwords: string[];
  }[] = [
    {
      name: "the new passwords differ",
      password: ["current-pass", "new-password-1", "new-password-2"],
      outcomes: [],
      code: "password_mismatch",
      message: /differ/,
      passwords: [],
    },
    {
      name: "a new password too short",
      env: { PARLEY_NEW_PASSWORD: "short" },
      password: ["current-pass"],
      outcomes: [],
      code: "weak_password",
      message: /at least/,
      passwords: [],
    },
    {
      name: "Ctrl-C at the current password",
      password: [null],
      outcomes: [],
      code: "cancelled",
      message: /Cancelled/,
      passwords: [],
    },
    {
      name: "Ctrl-C at the new password",
      password: ["current-pass", null],
      outcomes: [],
      code: "cancelled",
      message: /Cancelled/,
      passwords: [],
    },
    {
      name: "a wrong current password (and the server does not have the new one either)",
      password: ["wrong-pass", "new-password-1", "new-password-1"],
      outcomes: [wrong(), wrong()],
      code: "bad_credentials",
      message: /Wrong/,
      passwords: ["wrong-pass", "new-password-1"],
    },
  ];
  for (const c of cases) {
    const s = scripted({ password: [...c.password] });
    const port = loginPort([...c.outcomes]);
    await assert.rejects(
      passwdCommand(flags, envOf(c.env ?? {}), s.prompts, port.login),
      (e) => e instanceof BackendError && e.code === c.code && c.message.test(e.message),
      c.name,
    );
    assert.deepEqual(port.tried.map((t) => t.password), c.passwords, c.name);
    // The reseal's login (the new password) keeps no history: it opens only the folder's keystore.
    if (c.passwords.length === 2) assert.equal(port.tried[1]!.o.keepHistory, false, c.name);
  }
});

Deno.test("loginAgain: the password of the environment or nothing; a refused login closes its connection", async () => {
  const cases: {
    name: string;
    env: Record<string, string>;
    login: BackendError | "ok";
    ends: string;
    opened: number;
  }[] = [
    {
      name: "a reconnect logs in with PARLEY_PASSWORD",
      env: { PARLEY_PASSWORD: "right-pass" },
      login: "ok",
      ends: "ok",
      opened: 1,
    },
    { name: "no password: no connection", env: {}, login: "ok", ends: "no_password", opened: 0 },
    {
      name: "a wrong password",
      env: { PARLEY_PASSWORD: "wrong-pass" },
      login: wrong(),
      ends: "bad_credentials",
      opened: 1,
    },
    { name: "a lockout", env: { PARLEY_PASSWORD: "pass-one" }, login: locked(), ends: "locked", opened: 1 },
  ];
  for (const c of cases) {
    let opened = 0, closed = 0;
    const given: { password: string; user: string; quiet?: boolean }[] = [];
    const conn = { close: () => Promise.resolve(void closed++) } as unknown as Connection;
    const ended = await loginAgain(flags, envOf(c.env), true, undefined, {
      open: () => (opened++, Promise.resolve({ conn, server: "127.0.0.1:9797", pem: "" })),
      login: (o) => {
        given.push({ password: o.password ?? "", user: o.user, ...(o.quiet ? { quiet: o.quiet } : {}) });
        return c.login === "ok" ? Promise.resolve({} as ServerSession) : Promise.reject(c.login);
      },
    }).then(() => "ok", (e) => e instanceof BackendError ? e.code : Promise.reject(e));
    assert.equal(ended, c.ends, c.name);
    assert.equal(opened, c.opened, c.name);
    assert.equal(
      closed,
      c.ends === "ok" || c.opened === 0 ? 0 : 1,
      `${c.name}: a refused login's connection closed`,
    );
    if (opened) {
      assert.deepEqual(given, [{ password: c.env.PARLEY_PASSWORD!, user: "alice", quiet: true }], c.name);
    }
  }
});
