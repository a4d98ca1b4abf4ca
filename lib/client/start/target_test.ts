/**
 * start/target.ts in memory (issue 70 item 8): where and as whom a surface connects (flags, then the
 * environment, then defaults), the server address's grammar, where the password comes from (file,
 * PARLEY_PASSWORD, a prompt; twice and checked when registering) and where the settings file lives.
 */
import assert from "node:assert/strict";
import { BackendError } from "../backend.ts";
import { hostPort, readPassword, resolveTarget, screenFiles } from "./target.ts";

const envOf = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });

Deno.test("resolveTarget: flags, then the environment, then defaults; every node of a list", () => {
  const cases: [string, Parameters<typeof resolveTarget>[0], Record<string, string>, object][] = [
    ["defaults", {}, { HOME: "/h" }, {
      host: "127.0.0.1",
      port: 9797,
      server: "127.0.0.1:9797",
      home: "/h/.parley",
    }],
    ["USERPROFILE without HOME", {}, { USERPROFILE: "C:/u" }, { home: "C:/u/.parley" }],
    ["neither", {}, {}, { home: "./.parley" }],
    ["env", {}, { PARLEY_SERVER: "chat.example:7000", PARLEY_USER: "kofi", PARLEY_HOME: "/p" }, {
      server: "chat.example:7000",
      user: "kofi",
      home: "/p",
    }],
    ["flags win", { server: "a:1", user: "ana", home: "/f" }, { PARLEY_SERVER: "b:2", PARLEY_USER: "bo" }, {
      server: "a:1",
      user: "ana",
      home: "/f",
    }],
    ["host alone", { server: "chat.example" }, {}, { host: "chat.example", port: 9797 }],
    ["IPv6", { server: "[::1]:9000" }, {}, { host: "::1", port: 9000 }],
    ["a list", { server: "a:1, b:2" }, {}, {
      server: "a:1",
      nodes: [{ host: "a", port: 1 }, { host: "b", port: 2 }],
    }],
  ];
  for (const [name, flags, env, want] of cases) {
    const got = resolveTarget(flags, envOf(env));
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k as keyof typeof got], v, `${name}: ${k}`);
    }
  }
  assert.equal("user" in resolveTarget({}, envOf({})), false, "no user unless given");
  assert.equal("nodes" in resolveTarget({ server: "a:1" }, envOf({})), false, "one node: no list");
});

Deno.test("hostPort: a bad address or port is refused with bad_server, in one sentence", () => {
  for (
    const [server, why] of [["", /is not HOST:PORT/], ["a:0", /Port 0 is out of range/], [
      "a:70000",
      /out of range/,
    ]] as const
  ) {
    assert.throws(
      () => hostPort(server),
      (e) => e instanceof BackendError && e.code === "bad_server" && why.test(e.message),
    );
  }
  assert.deepEqual(hostPort("a:0", 0), { host: "a", port: 0 }, "a listener may ask for any free port");
});

Deno.test("readPassword: file, then PARLEY_PASSWORD, then a prompt; registering asks twice and checks first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "from the file\n");
    const answers = (...a: (string | null)[]) => ({ password: () => Promise.resolve(a.shift() ?? null) });
    const env = envOf({ PARLEY_PASSWORD: "from env" });
    assert.equal(await readPassword({ passwordFile: `${dir}/pw` }, env, {}, "ana"), "from the file");
    assert.equal(await readPassword({}, env, answers("typed"), "ana"), "from env");
    assert.equal(await readPassword({}, envOf({}), answers("typed"), "ana"), "typed");
    assert.equal(
      await readPassword({}, envOf({}), answers("long enough pw", "long enough pw"), "ana", true),
      "long enough pw",
    );
    const refused: [string, () => Promise<string>][] = [
      ["bad_password_file", () => readPassword({ passwordFile: `${dir}/none` }, envOf({}), {}, "ana")],
      ["no_password", () => readPassword({}, envOf({}), {}, "ana")],
      ["cancelled", () => readPassword({}, envOf({}), answers(null), "ana")],
      ["weak_password", () => readPassword({}, envOf({}), answers("short"), "ana", true)],
      [
        "password_mismatch",
        () => readPassword({}, envOf({}), answers("long enough pw", "another long pw"), "ana", true),
      ],
    ];
    for (const [code, p] of refused) {
      await assert.rejects(p(), (e) => e instanceof BackendError && e.code === code, code);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("screenFiles: the settings file under XDG_CONFIG_HOME when set, else the client folder; logs per user", () => {
  assert.equal(screenFiles("/h/.parley", envOf({}), "ana").configPath, "/h/.parley/config");
  assert.equal(
    screenFiles("/h/.parley", envOf({ XDG_CONFIG_HOME: "/x" }), "ana").configPath,
    "/x/parley/config",
  );
  assert.equal(screenFiles("/h/.parley", envOf({}), "ana").logPath("#proj"), "/h/.parley/logs/ana/#proj.log");
});
