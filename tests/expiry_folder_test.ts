/**
 * A disappearing message sent by one process of a folder disappears in that folder, whichever
 * process files it first (a day of real use: `parley send` beside the full-screen client of the same
 * folder kept "this will vanish" in `read --since` after its time). The full-screen client files the
 * sender's own message from the outbox when the server's echo comes, often before the sending process
 * does; it now gives it the conversation's time as the sender sealed it.
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../lib/client/backend.ts";
import { eventually, runProgram, startTestServer, type TestServer } from "./helpers.ts";

/**
 * Alice's folder with two processes: a script (a real process: two stores of one folder in one
 * process would wait on each other) and a screen following the live feed here; bob to talk to.
 */
async function scriptBesideScreen(t: TestServer) {
  const home = `${t.dir}/home-alice`;
  const cli = async (...args: string[]) => {
    const r = await runProgram("client.ts", [
      ...args,
      ...["--server", `127.0.0.1:${t.port}`, "--user", "alice", "--home", home, "--trust-on-first-use"],
    ], { PARLEY_PASSWORD: "pw-alice-secret" });
    assert.equal(r.code, 0, r.err);
    return r.out.trim();
  };
  await t.e2eClient("bob");
  await cli("register");
  const screen = await t.e2eClient("alice", { register: false, home });
  const seen: BackendEvent[] = [];
  screen.client.on((e) => seen.push(e));
  await screen.client.start();
  return { cli, screen, seen };
}

Deno.test("expiry: my own disappearing message filed by another process of the folder keeps its time", async () => {
  const t = await startTestServer();
  try {
    await t.e2eClient("bob");
    const screen = await t.e2eClient("alice");
    const script = await t.e2eClient("alice", { register: false, home: `${t.dir}/home-alice` });
    await screen.client.start(); // the screen follows the live feed; the script only sends
    const bob = { kind: "user" as const, name: "bob" };
    await screen.client.changes.setExpiry(bob, 30); // the setting is the folder's: both read it
    // The sending process files its copy last (here: never), as when the screen's echo wins the race.
    script.store.insert = () => {};
    script.store.confirm = () => {};
    const sent = await script.client.send(bob, "this will vanish");
    await eventually(() => screen.store.get(sent.seq) !== undefined, 5000, "the screen filed it");
    assert.equal(screen.store.get(sent.seq)?.text, "this will vanish");
    assert.equal(screen.store.get(sent.seq)?.expires, sent.ts + 30_000);
  } finally {
    await t.stop();
  }
});

Deno.test("changes: my edit and reaction sent by another process of the folder show on the screen, no 'could not read'", async () => {
  const t = await startTestServer();
  try {
    const { cli, screen, seen } = await scriptBesideScreen(t);
    const { id, seq } = JSON.parse(await cli("send", "bob", "helo wrld", "--json"));
    await eventually(() => screen.store.get(seq) !== undefined, 5000, "the screen has the text");
    for (let i = 1; i <= 3; i++) await cli("edit", id, `hello world ${i}`);
    await cli("react", id, ":tada:");
    await eventually(
      () => seen.some((e) => e.type === "message.changed" && e.message.reactions?.["🎉"]?.includes("alice")),
      5000,
      "the screen was told of the reaction",
    );
    const texts = seen.flatMap((e) => (e.type === "message.changed" ? [e.message.text] : []));
    assert.ok(texts.includes("hello world 3"), texts.join(" | "));
    const notices = seen.flatMap((e) => (e.type === "notice" ? [e.text] : []));
    assert.deepEqual(notices.filter((n) => /Could not read/.test(n)), []);
    assert.equal(screen.store.get(seq)?.text, "hello world 3");
    assert.equal(screen.store.editsOf(seq).length, 3, "each edit applied once (three earlier texts)");
  } finally {
    await t.stop();
  }
});

Deno.test("settings: a room made and its disappearing time set by another process of the folder show on the screen, no 'could not read'", async () => {
  const t = await startTestServer();
  try {
    const { cli, screen, seen } = await scriptBesideScreen(t);
    await cli("room", "create", "team", "bob");
    // The room's first message from this folder: the room key goes to bob first (a DM sealed for him only).
    await cli("expire", "#team", "1h");
    await cli("expire", "bob", "10m");
    const settings = () =>
      seen.flatMap((e) => (e.type === "message" && e.message.setting ? [e.message] : []));
    await eventually(() => settings().length >= 2, 5000, "the screen shows both settings");
    for (const m of settings()) {
      assert.match(m.text, /^⏱ messages here now disappear (1h|10m) after they are sent$/);
      assert.equal(screen.store.get(m.seq)?.text, m.text, "filed in the folder");
    }
    const notices = seen.flatMap((e) => (e.type === "notice" ? [e.text] : []));
    assert.deepEqual(notices.filter((n) => /Could not read/.test(n)), []);
  } finally {
    await t.stop();
  }
});
