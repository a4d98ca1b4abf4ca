/**
 * Releases (since 0.2.0, issue 38.5): the server says its version at hello; a client whose major.minor differs
 * says so once — on stderr for scripted commands, as a notice line in the full-screen client — and
 * nothing when they match. CHANGELOG's newest release is this version, under an empty Unreleased.
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";
import { VERSION } from "../lib/common/version.ts";
import { rootFile, scriptedCli, startTestServer, testKdf, type TestServer } from "./helpers.ts";

const cli = (t: TestServer, user: string, argv: string[]) => scriptedCli(t, user, argv);

Deno.test("the hello reply carries the server's version", async () => {
  const t = await startTestServer();
  try {
    const c = await t.connect();
    const r = await c.request("hello", { v: 1, client: "t" });
    assert.equal(r.header.version, VERSION);
  } finally {
    await t.stop();
  }
});

Deno.test("a scripted command says on stderr when the server's major.minor differs, nothing when equal", async () => {
  const [maj, min] = VERSION.split(".").map(Number);
  const next = `${maj}.${min! + 1}.1`; // a newer major.minor than this client's, whatever it is
  const newer = await startTestServer({ version: next });
  try {
    const r = await cli(newer, "alice", ["register"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.err,
      `parley: The server runs Parley ${next}, newer than this client (${VERSION}): upgrade the client`,
    );
  } finally {
    await newer.stop();
  }
  const same = await startTestServer({ version: VERSION.replace(/\d+$/, "99") });
  try {
    const r = await cli(same, "alice", ["register"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
  } finally {
    await same.stop();
  }
});

Deno.test("the full-screen client's backend says once that the server is older", async () => {
  const t = await startTestServer({ version: "0.1.9" });
  try {
    await (await t.client("bob")).close();
    const as = async () => ({
      conn: await t.connect(),
      server: `127.0.0.1:${t.port}`,
      user: "bob",
      password: "pw-bob-secret",
      kdf: testKdf,
    });
    const events: BackendEvent[] = [];
    const live = await ChatClient.login(await as());
    live.reconnect = async () => await ServerSession.login(await as());
    live.on((e) => events.push(e));
    await live.feed.catchUp();
    const notices = events.flatMap((e) => (e.type === "notice" ? [`${e.level}: ${e.text}`] : []));
    assert.deepEqual(notices, [
      `warn: The server runs Parley 0.1.9, older than this client (${VERSION}): some features may not work; ` +
      "ask its operator to upgrade",
    ]);
    await live.close();
  } finally {
    await t.stop();
  }
});

Deno.test("CHANGELOG: an empty Unreleased heading, then this version dated", async () => {
  const text = await Deno.readTextFile(rootFile("CHANGELOG.md"));
  const heads = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.equal(heads[0], "[Unreleased]");
  assert.match(heads[1]!, new RegExp(`^\\[${VERSION.replaceAll(".", "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`));
  const unreleased = text.slice(text.indexOf("## [Unreleased]") + 15, text.indexOf(`## [${VERSION}]`));
  assert.equal(unreleased.trim(), "");
});

Deno.test("--version and --help answer without any permission (a tool asking the version runs plain deno run)", async () => {
  for (
    const [entry, arg, want] of [
      ["server.ts", "--version", `parley-server ${VERSION}`],
      ["client.ts", "--version", VERSION],
      ["server.ts", "--help", "Usage:"],
      ["client.ts", "--help", "Usage: parley"],
    ] as const
  ) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--config", rootFile("deno.json"), rootFile(entry), arg],
      clearEnv: true, // no NO_COLOR either: commander reads the colour variables unless told not to
      env: { INIT_CWD: "/" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 0, `${entry} ${arg}: ${new TextDecoder().decode(r.stderr)}`);
    assert.ok(out.includes(want), `${entry} ${arg}: ${out}`);
  }
});
