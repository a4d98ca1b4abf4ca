/**
 * The real scripted client (`deno run client.ts …`, one process per command, --home temp folders,
 * PARLEY_PASSWORD, --trust-on-first-use) against an in-process server on port 0: encrypted
 * send/read (and read --since after the ack), fingerprint / verify / trust output, room kick.
 */
import assert from "node:assert/strict";
import { runProgram, serverBytes, startTestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

const SN = /^(\d{5} ){11}\d{5}$/;

async function cli(home: string, port: number, user: string, ...args: string[]) {
  const r = await runProgram(
    "client.ts",
    [...args, "--server", `127.0.0.1:${port}`, "--user", user, "--home", home, "--trust-on-first-use"],
    { PARLEY_PASSWORD: `pw-${user}-secret` },
  );
  return { code: r.code, out: r.out.trim(), err: r.err.trim() };
}

test("scripted client: encrypted send/read, read --since after ack, fingerprint, verify, trust, room kick", async () => {
  const t = await startTestServer();
  const ha = `${t.dir}/home-a`, hb = `${t.dir}/home-b`, hc = `${t.dir}/home-c`;
  const run = (h: string, u: string, ...a: string[]) => cli(h, t.port, u, ...a);
  try {
    const start = new Date(Date.now() - 60_000).toISOString();
    const regs = await Promise.all([
      run(ha, "alice", "register"),
      run(hb, "bob", "register"),
      run(hc, "carol", "register"),
    ]);
    for (const r of regs) assert.equal(r.code, 0, r.err);
    let r = await run(ha, "alice", "send", "bob", "top secret plan");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Sent to bob at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    r = await run(hb, "bob", "read");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\S+Z alice -> bob: top secret plan$/);
    r = await run(hb, "bob", "read");
    assert.equal(r.err, "No new messages");
    r = await run(hb, "bob", "read", "--from", "alice", "--since", start);
    assert.match(r.out, /alice -> bob: top secret plan$/);
    const db = await serverBytes(t.dir, []);
    assert.ok(db.includes("alice") && db.includes("bob"), "the check sees the server's files");
    assert.equal(db.includes("top secret plan"), false);

    r = await run(ha, "alice", "fingerprint");
    assert.match(r.out, /^Your fingerprint \(alice\): (\d{5} ){5}\d{5}$/);
    const a2b = await run(ha, "alice", "fingerprint", "bob");
    const b2a = await run(hb, "bob", "fingerprint", "alice");
    const sn = a2b.out.match(/^Safety number with bob: ([\d ]+) \(not verified\)$/)?.[1];
    assert.ok(sn && SN.test(sn), a2b.out);
    assert.equal(b2a.out, `Safety number with alice: ${sn} (not verified)`);
    r = await run(ha, "alice", "verify", "bob");
    assert.equal(r.out, `Verified bob: ${sn}`);
    r = await run(ha, "alice", "fingerprint", "bob");
    assert.equal(r.out, `Safety number with bob: ${sn} (verified)`);
    r = await run(ha, "alice", "trust", "bob");
    assert.equal(r.out, `Trusted bob: ${sn}`);
    // verify USER NUMBER (issue 33.1): the number as read out, in its groups; a wrong one is refused.
    r = await run(ha, "alice", "verify", "bob", ...sn.split(" "));
    assert.equal(r.out, `Verified bob: ${sn}`);
    r = await run(ha, "alice", "verify", "bob", sn.replace(/^\d/, (d) => String((Number(d) + 1) % 10)));
    assert.notEqual(r.code, 0);
    assert.match(r.err, /not the safety number of any key bob presented: nothing was pinned/);

    r = await run(ha, "alice", "room", "create", "dev", "bob", "carol");
    assert.equal(r.out, "Created #dev with alice, bob, carol");
    // A second room for the same people is refused, naming the first, unless --new (issue 14).
    r = await run(ha, "alice", "room", "create", "team", "carol", "bob");
    assert.notEqual(r.code, 0);
    assert.match(r.err, /#dev already has exactly these members .*--new/);
    r = await run(ha, "alice", "room", "create", "team", "carol", "bob", "--new");
    assert.equal(r.out, "Created #team with alice, bob, carol");
    r = await run(ha, "alice", "send", "#dev", "room news");
    assert.equal(r.code, 0, r.err);
    r = await run(hc, "carol", "read", "--room", "dev");
    assert.match(r.out, /alice -> #dev: room news$/);
    // Offline at the change, carol learns the room from its log: no notice is required, no error allowed.
    assert.doesNotMatch(r.err, /Could not read|not signed|does not match|membership/);
    r = await run(ha, "alice", "room", "kick", "dev", "carol");
    assert.equal(r.out, "Removed carol from #dev");
    r = await run(ha, "alice", "send", "#dev", "carol must not see this");
    assert.equal(r.code, 0, r.err);
    r = await run(hb, "bob", "read", "--room", "dev");
    assert.match(r.out, /room news\n.*alice -> #dev: carol must not see this$/);
    r = await run(hc, "carol", "read", "--room", "dev");
    assert.equal(r.out, "");
    // The room keys alice sent bob are control messages: her history with bob shows only the text
    // (issue 14: no "Could not read … you sent it from another device").
    r = await run(ha, "alice", "read", "--from", "bob", "--since", start);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\S+Z alice -> bob: top secret plan$/);
    assert.doesNotMatch(r.out + r.err, /Could not read|another device/);
    // The scripted send converts emoji like the full-screen client; --raw keeps the text as typed.
    r = await run(ha, "alice", "send", "bob", "ok :thumbsup: :-) <3");
    assert.equal(r.code, 0, r.err);
    r = await run(ha, "alice", "send", "--raw", "bob", "as typed :-) <3");
    assert.equal(r.code, 0, r.err);
    r = await run(ha, "alice", "send", "bob", "--me", "waves :wave:"); // an action (core/action.ts)
    assert.equal(r.code, 0, r.err);
    r = await run(hb, "bob", "read", "--from", "alice", "--json");
    const read = JSON.parse(r.out) as { text: string; action?: boolean }[];
    assert.deepEqual(read.map((m) => [m.text, m.action ?? false]), [
      ["ok 👍 🙂 ❤️", false],
      ["as typed :-) <3", false],
      ["/me waves 👋", true],
    ]);
  } finally {
    await t.stop();
  }
});
