/**
 * Issue 9, linked devices, end to end with real `client.ts` processes: alice links a second
 * folder with `device link` / `device add CODE`; bob's DM shows on both; alice's reply from one
 * shows as hers on the other; bob's safety number for alice does not change; `device remove`
 * stops delivery to the removed one. A second folder that logs in unlinked never replaces the
 * account's key silently; `keys reset` is the explicit way.
 */
import assert from "node:assert/strict";
import { PROGRAM_PERMS, rootFile, runProgram, startTestServer } from "./helpers.ts";
import { PASSWORD, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

function spawnCli(port: number, user: string, home: string, ...args: string[]) {
  const p = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("client.ts"),
      ...args,
      "--user",
      user,
      "--server",
      `127.0.0.1:${port}`,
      "--home",
      home,
      "--trust-on-first-use",
    ],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PARLEY_PASSWORD: PASSWORD },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let buf = "";
    for await (const chunk of p.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
    }
    if (buf) lines.push(buf);
  })();
  const err = new Response(p.stderr).text();
  return { p, lines, reading, err };
}

async function waitLine(lines: string[], re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const l = lines.find((x) => re.test(x));
    if (l) return l;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line like ${re} in:\n${lines.join("\n")}`);
}

test("devices: a linked second folder gets DMs, shares its sends, keeps the safety number; remove stops it", async () => {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes = await Promise.all(
    ["a1", "a2", "b", "x"].map((n) => Deno.makeTempDir({ prefix: `parley-${n}-` })),
  );
  const [a1, a2, hb, hx] = homes as [string, string, string, string];
  try {
    assert.equal((await tm.cli("alice", a1, "register")).code, 0);
    assert.equal((await tm.cli("bob", hb, "register")).code, 0);
    assert.equal((await tm.cli("bob", hb, "send", "alice", "hello first device")).code, 0);
    const before = (await tm.cli("bob", hb, "fingerprint", "alice")).out;
    assert.match(before, /\d{5}/);

    // An unlinked folder never replaces alice's key: it is told how to link.
    const stray = await tm.cli("alice", hx, "login");
    assert.equal(stray.code, 1);
    assert.match(stray.err, /already has keys from another folder.*device link.*device add.*keys reset/s);

    const link = spawnCli(t.port, "alice", a1, "device", "link", "--timeout", "30");
    const code = (await waitLine(link.lines, /^code: /)).slice("code: ".length);
    assert.match(code, /^([A-Z2-9]{4}-){7}[A-Z2-9]{4}$/);
    const add = await tm.cli("alice", a2, "device", "add", code, "--name", "laptop");
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /linked: this folder is device 2 of alice/);
    assert.equal((await link.p.status).code, 0, await link.err);
    await link.reading;
    // The fixed contract on standard output: exactly these two lines (a QR goes to a terminal's stderr only).
    assert.deepEqual(link.lines.filter((l) => l.trim()), [`code: ${code}`, "linked device 2 (laptop)"]);
    const list = await tm.cli("alice", a2, "device", "list");
    assert.match(list.out, /^1 .*\n2 +laptop .*\(this device\)/m);

    // bob's next DM reaches both folders; his safety number for alice is unchanged.
    const b1 = await tm.cli("bob", hb, "send", "alice", "to every device");
    assert.equal(b1.code, 0, b1.err);
    const r1 = await tm.cli("alice", a1, "read");
    const r2 = await tm.cli("alice", a2, "read");
    assert.match(r1.out, /to every device/, r1.err);
    assert.match(r2.out, /to every device/, r2.err);
    assert.doesNotMatch(r2.err, /Could not read/);
    assert.equal((await tm.cli("bob", hb, "fingerprint", "alice")).out, before);

    // alice answers from the laptop: bob reads it, and her first folder shows it as hers.
    assert.equal((await tm.cli("alice", a2, "send", "bob", "reply from the laptop")).code, 0);
    assert.match((await tm.cli("bob", hb, "read")).out, /alice.*reply from the laptop/);
    const mine = await tm.cli("alice", a1, "read", "--from", "bob", "--since", "1h");
    assert.match(
      mine.out,
      /alice → bob.*reply from the laptop|alice.*bob.*reply from the laptop/,
      mine.out + mine.err,
    );
    assert.doesNotMatch(mine.err, /Could not read|another device/);

    // Removed: the laptop's sessions end and it gets nothing more.
    assert.equal((await tm.cli("alice", a1, "device", "remove", "2")).code, 0);
    assert.equal((await tm.cli("bob", hb, "send", "alice", "after the removal")).code, 0);
    assert.match((await tm.cli("alice", a1, "read")).out, /after the removal/);
    const gone = await tm.cli("alice", a2, "read");
    assert.equal(gone.code, 1);
    assert.match(gone.err, /removed/);

    // Starting over is explicit: keys reset makes a new identity; bob sees KEY CHANGED.
    const reset = await tm.cli("alice", hx, "keys", "reset");
    assert.equal(reset.code, 0, reset.err);
    const changed = await tm.cli("bob", hb, "send", "alice", "to the new key");
    assert.equal(changed.code, 1);
    assert.match(changed.err, /identity key of alice changed/i);
  } finally {
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});

test("devices: parley passwd — the old password stops working; another folder seals its keys under the new one", async () => {
  const t = await startTestServer();
  const homes = await Promise.all(["a1", "a2"].map((n) => Deno.makeTempDir({ prefix: `parley-${n}-` })));
  const [a1, a2] = homes as [string, string];
  const NEW = "the new password of alice";
  const cli = (home: string, env: Record<string, string>, ...args: string[]) =>
    runProgram("client.ts", [
      ...args,
      "--user",
      "alice",
      "--server",
      `127.0.0.1:${t.port}`,
      "--home",
      home,
      "--trust-on-first-use",
    ], env);
  const old = { PARLEY_PASSWORD: PASSWORD };
  const now = { PARLEY_PASSWORD: NEW };
  try {
    assert.equal((await cli(a1, old, "register")).code, 0);
    const link = spawnCli(t.port, "alice", a1, "device", "link", "--timeout", "30");
    const code = (await waitLine(link.lines, /^code: /)).slice("code: ".length);
    const add = await cli(a2, old, "device", "add", code);
    assert.equal(add.code, 0, add.err);
    assert.equal((await link.p.status).code, 0, await link.err);
    await link.reading;

    const ch = await cli(a1, { ...old, PARLEY_NEW_PASSWORD: NEW }, "passwd");
    assert.equal(ch.code, 0, ch.err);
    assert.match(ch.out, /Password changed for alice.*every remembered login was revoked/);
    const refused = await cli(a1, old, "login");
    assert.equal(refused.code, 1);
    assert.match(refused.err, /password/i);
    assert.equal((await cli(a1, now, "read")).code, 0, "this folder opens with the new password");
    // The other folder's keys are still sealed under the old password: passwd there seals them again.
    const stale = await cli(a2, now, "read");
    assert.equal(stale.code, 1);
    assert.match(stale.err, /does not open.*run "parley passwd" here/);
    const fix = await cli(a2, { ...old, PARLEY_NEW_PASSWORD: NEW }, "passwd");
    assert.equal(fix.code, 0, fix.err);
    assert.match(fix.out, /now sealed under the new password/);
    const ok = await cli(a2, now, "read");
    assert.equal(ok.code, 0, ok.err);
  } finally {
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});

/** Links a second folder `a2` to `user`'s first folder `a1` (device link / device add). */
async function linkSecondFolder(tm: Tmux, port: number, user: string, a1: string, a2: string): Promise<void> {
  const link = spawnCli(port, user, a1, "device", "link", "--timeout", "30");
  const code = (await waitLine(link.lines, /^code: /)).slice("code: ".length);
  const add = await tm.cli(user, a2, "device", "add", code, "--name", "laptop");
  assert.equal(add.code, 0, add.err);
  assert.equal((await link.p.status).code, 0, await link.err);
  await link.reading;
}

test("devices: edits, reactions, deletions and the disappearing time reach every linked device (issue 39)", async () => {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes = await Promise.all(["a1", "a2", "b"].map((n) => Deno.makeTempDir({ prefix: `parley-${n}-` })));
  const [a1, a2, hb] = homes as [string, string, string];
  type Line = { id: string; text: string; edited?: unknown; deleted?: boolean; reactions?: unknown };
  const readJson = async (home: string, user: string, from: string): Promise<Line[]> => {
    const r = await tm.cli(user, home, "read", "--json", "--since", "1h", "--from", from);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };
  const line = (all: Line[], id: string) => all.find((x) => x.id === id);
  try {
    assert.equal((await tm.cli("alice", a1, "register")).code, 0);
    assert.equal((await tm.cli("bob", hb, "register")).code, 0);
    await linkSecondFolder(tm, t.port, "alice", a1, a2);

    // bob's message, edited, reaches both of alice's folders edited.
    const sent = await tm.cli("bob", hb, "send", "alice", "dinner at 7", "--json");
    assert.equal(sent.code, 0, sent.err);
    const id = JSON.parse(sent.out).id as string;
    assert.equal((await tm.cli("bob", hb, "edit", id, "dinner at 8")).code, 0);
    for (const home of [a1, a2]) {
      const m = line(await readJson(home, "alice", "bob"), id);
      assert.equal(m?.text, "dinner at 8", home);
      assert.ok(m?.edited, "marked edited on " + home);
    }

    // alice reacts from the laptop: bob sees it, and so does her first folder.
    assert.equal((await tm.cli("alice", a2, "react", id, ":thumbsup:")).code, 0);
    assert.deepEqual(line(await readJson(hb, "bob", "alice"), id)?.reactions, { "👍": ["alice"] });
    assert.deepEqual(line(await readJson(a1, "alice", "bob"), id)?.reactions, { "👍": ["alice"] });

    // alice's own message edited from one folder shows edited on the other (the sender's other device).
    const own = JSON.parse((await tm.cli("alice", a1, "send", "bob", "on my way", "--json")).out)
      .id as string;
    assert.equal((await tm.cli("alice", a1, "edit", own, "on my way, 5 min")).code, 0);
    const ownOnA2 = line(await readJson(a2, "alice", "bob"), own);
    assert.equal(ownOnA2?.text, "on my way, 5 min");
    assert.ok(ownOnA2?.edited);

    // bob deletes his message: the text leaves both folders.
    assert.equal((await tm.cli("bob", hb, "delete", id)).code, 0);
    for (const home of [a1, a2]) {
      const m = line(await readJson(home, "alice", "bob"), id);
      assert.equal(m?.deleted, true, home);
      assert.equal(m?.text, "", "the text is removed on " + home);
    }

    // The conversation's disappearing time, set by bob, is shown on both folders.
    assert.equal((await tm.cli("bob", hb, "expire", "alice", "1d")).code, 0);
    for (const home of [a1, a2]) {
      const r = await tm.cli("alice", home, "read", "--since", "1h", "--from", "bob");
      assert.match(r.out, /disappear/i, home + ": " + r.out + r.err);
    }
  } finally {
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});

test("devices: a note to self is kept alone and reaches one's other devices once linked; so does a block", async () => {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes = await Promise.all(["a1", "a2", "b"].map((n) => Deno.makeTempDir({ prefix: `parley-${n}-` })));
  const [a1, a2, hb] = homes as [string, string, string];
  const notes = async (home: string) => {
    const r = await tm.cli("alice", home, "read", "--json", "--since", "1h", "--from", "alice");
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { text: string }[]).map((m) => m.text);
  };
  try {
    assert.equal((await tm.cli("alice", a1, "register")).code, 0);
    const alone = await tm.cli("alice", a1, "send", "alice", "milk, eggs");
    assert.equal(alone.code, 0, alone.err); // was: "The recipient's or your devices changed" (a loop)
    assert.deepEqual(await notes(a1), ["milk, eggs"]);
    assert.equal((await tm.cli("bob", hb, "register")).code, 0);
    assert.equal((await tm.cli("alice", a1, "block", "bob")).out.trim(), "Blocked bob");
    await linkSecondFolder(tm, t.port, "alice", a1, a2);
    assert.equal(
      (await tm.cli("alice", a2, "blocked")).out.trim(),
      "bob",
      "the block list moves with the link",
    );
    assert.equal((await tm.cli("alice", a1, "send", "alice", "the wifi code is 1234")).code, 0);
    assert.equal((await tm.cli("alice", a2, "send", "alice", "noted on the laptop")).code, 0);
    assert.deepEqual(await notes(a2), ["the wifi code is 1234", "noted on the laptop"]);
    assert.deepEqual(await notes(a1), ["milk, eggs", "the wifi code is 1234", "noted on the laptop"]);
    // A block or unblock made on one device holds on the other (told in a note to self; bob is told nothing).
    assert.equal((await tm.cli("bob", hb, "send", "alice", "are you ignoring me?")).code, 0);
    const dropped = await tm.cli("alice", a2, "read", "--from", "bob", "--since", "1h");
    assert.equal(dropped.out, "", "dropped on the new device too");
    assert.equal((await tm.cli("alice", a2, "unblock", "bob")).code, 0);
    assert.equal((await tm.cli("alice", a1, "blocked", "--json")).out.trim(), '{"blocked":[]}');
    assert.equal((await tm.cli("alice", a1, "block", "bob")).code, 0);
    assert.equal((await tm.cli("alice", a2, "blocked")).out.trim(), "bob");
    assert.deepEqual(await notes(a1), ["milk, eggs", "the wifi code is 1234", "noted on the laptop"]);
  } finally {
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});

test("devices: a device linked while a room member was away reads that member's next room message", async () => {
  const t = await startTestServer();
  const tm = new Tmux(t.port);
  const homes = await Promise.all(["a1", "a2", "b"].map((n) => Deno.makeTempDir({ prefix: `parley-${n}-` })));
  const [a1, a2, hb] = homes as [string, string, string];
  try {
    assert.equal((await tm.cli("alice", a1, "register")).code, 0);
    assert.equal((await tm.cli("bob", hb, "register")).code, 0);
    assert.equal((await tm.cli("alice", a1, "room", "create", "team", "bob")).code, 0);
    // Bob's sender key goes to alice's one device; his folder remembers her device list.
    assert.equal((await tm.cli("bob", hb, "send", "#team", "before the link")).code, 0);
    assert.match((await tm.cli("alice", a1, "read")).out, /before the link/);
    // Alice links a second folder while bob is away: the server's push of her devices reaches no one.
    const link = spawnCli(t.port, "alice", a1, "device", "link", "--timeout", "30");
    const code = (await waitLine(link.lines, /^code: /)).slice("code: ".length);
    assert.equal((await tm.cli("alice", a2, "device", "add", code)).code, 0);
    assert.equal((await link.p.status).code, 0, await link.err);
    await link.reading;
    // Bob's next room message reaches the new device too.
    assert.equal((await tm.cli("bob", hb, "send", "#team", "after the link")).code, 0);
    const r2 = await tm.cli("alice", a2, "read");
    assert.match(r2.out, /bob -> #team: after the link/, r2.err);
    assert.doesNotMatch(r2.err, /Could not read|No sender key/);
  } finally {
    await t.stop();
    for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});
