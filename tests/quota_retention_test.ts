/**
 * Issue 10, item 5: what one user can make the server store is bounded. A per-user quota of
 * stored message bytes (`quota`, nothing stored past it); key uploads whose identity or signed
 * prekey signature does not verify are refused, and one-time prekeys past the cap are ignored;
 * `--retention DAYS` deletes old messages every recipient acknowledged; repeated denied commands
 * share one audit row per window, with a count.
 */
import assert from "node:assert/strict";
import { toBase64 } from "../lib/common/bytes.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { generateIdentity, publicIdentity } from "../lib/crypto/identity.ts";
import { generateOneTimePrekeys, generateSignedPrekey } from "../lib/crypto/prekeys.ts";
import { convKey } from "../lib/protocol/names.ts";
import { runProgram, startTestServer } from "./helpers.ts";

Deno.test("quota: a send past the user's stored bytes is refused with `quota` and nothing is stored", async () => {
  const t = await startTestServer({ quotaBytes: 10_000 });
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const me = { kind: "user" as const, name: "alice" };
    await alice.send(me, "a".repeat(4000));
    await alice.send({ kind: "user", name: "bob" }, "b".repeat(4000));
    await assert.rejects(alice.send(me, "c".repeat(4000)), (e: Error & { code?: string }) => {
      assert.equal(e.code, "quota");
      assert.match(e.message, /quota/);
      return true;
    });
    assert.equal(await t.srv.core.store.storedBytes("alice"), 8000, "the refused message was not stored");
    await alice.send(me, "small enough");
    await bob.send(me, "x".repeat(9000)); // bob has his own quota
  } finally {
    await t.stop();
  }
});

async function upload(n: number, o: { badSpk?: boolean; badSelf?: boolean } = {}) {
  const id = await generateIdentity();
  const spk = await generateSignedPrekey(id, 1, Date.now());
  const identity = publicIdentity(id);
  if (o.badSelf) identity.sig = toBase64(new Uint8Array(64).fill(1));
  return {
    identity,
    spk: { id: spk.id, pub: spk.pub, sig: o.badSpk ? toBase64(new Uint8Array(64).fill(2)) : spk.sig },
    opks: (await generateOneTimePrekeys(1, n)).map((k) => ({ id: k.id, pub: k.pub })),
  };
}

Deno.test("keys.publish: unsigned or badly signed uploads are refused; one-time prekeys stop at the cap", async () => {
  const t = await startTestServer({ maxPrekeys: 150 });
  try {
    const mallory = await t.client("mallory");
    const bob = await t.client("bob");
    for (const bad of [{ badSpk: true }, { badSelf: true }]) {
      await assert.rejects(mallory.conn.request("keys.publish", await upload(5, bad)), { code: "bad_keys" });
    }
    await assert.rejects(bob.conn.request("keys.fetch", { user: "mallory" }), { code: "no_keys" });
    assert.equal(await t.srv.core.store.countPrekeys("mallory"), 0, "nothing stored");
    const good = await upload(100);
    assert.equal((await mallory.conn.request("keys.publish", good)).header.prekeys, 100);
    const more = {
      ...good,
      opks: (await generateOneTimePrekeys(101, 100)).map((k) => ({ id: k.id, pub: k.pub })),
    };
    const r = await mallory.conn.request("keys.publish", more);
    assert.deepEqual([r.header.prekeys, r.header.ignored], [150, 50]);
    assert.match(String(r.header.note), /At most 150 one-time prekeys/);
    assert.equal(await t.srv.core.store.countPrekeys("mallory"), 150);
  } finally {
    await t.stop();
  }
});

Deno.test("retention: messages every recipient acknowledged and older than DAYS are swept; the rest stay", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const t = await startTestServer({ retentionDays: 2 }, { clock });
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    const carol = await t.client("carol");
    const toBob = { kind: "user" as const, name: "bob" };
    const acked = await alice.send(toBob, "old and read");
    const unread = await alice.send(toBob, "old, never read");
    const room = { kind: "room" as const, name: "team" };
    await alice.commands.createRoom("team", ["bob", "carol"]);
    const roomAll = await alice.send(room, "room, read by all");
    const roomSome = await alice.send(room, "room, read by bob only");
    const conv = convKey("user", "alice", "bob");
    const rconv = convKey("room", "team");
    await bob.conn.request("ack", { acks: [{ conv, seq: acked.seq }, { conv: rconv, seq: roomSome.seq }] });
    await carol.conn.request("ack", { acks: [{ conv: rconv, seq: roomAll.seq }] });
    clock.advance(3 * 86_400_000);
    // acks are cursors (up to a seq): carol reads a new DM, which is younger than the retention
    const cconv = convKey("user", "alice", "carol");
    const fresh = await alice.send({ kind: "user", name: "carol" }, "new and read");
    await carol.conn.request("ack", { acks: [{ conv: cconv, seq: fresh.seq }] });
    assert.equal(await t.srv.core.sweepRetention(), 2);
    const left = async (c: string) => (await t.srv.core.store.history(c, 0, 0, 100)).map((m) => m.seq);
    assert.deepEqual(await left(conv), [unread.seq]);
    assert.deepEqual(await left(cconv), [fresh.seq]);
    assert.deepEqual(await left(rconv), [roomSome.seq]);
  } finally {
    await t.stop();
  }
});

Deno.test("retention 0 keeps everything", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const t = await startTestServer({}, { clock });
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    const m = await alice.send({ kind: "user", name: "bob" }, "kept");
    await alice.conn.request("ack", { acks: [{ conv: convKey("user", "alice", "bob"), seq: m.seq }] });
    clock.advance(3650 * 86_400_000);
    assert.equal(await t.srv.core.sweepRetention(), 0);
  } finally {
    await t.stop();
  }
});

Deno.test("denied admin commands: one audit row per user, command and window, with a count", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 12, 0, 0));
  const t = await startTestServer({}, { clock });
  try {
    const mallory = await t.client("mallory");
    await t.client("bob");
    for (let i = 0; i < 30; i++) await assert.rejects(mallory.commands.kick("bob"), { code: "forbidden" });
    await assert.rejects(mallory.commands.grant("mallory"), { code: "forbidden" });
    const rows = () => t.srv.core.store.listAudit(100).then((l) => l.filter((a) => a.action === "denied"));
    assert.deepEqual((await rows()).map((a) => [a.target, a.count]), [["admin.grant", 1], [
      "admin.kick",
      30,
    ]]);
    clock.advance(3600_000); // a later window starts a new row
    await assert.rejects(mallory.commands.kick("bob"), { code: "forbidden" });
    assert.equal((await rows()).length, 3);
  } finally {
    await t.stop();
  }
});

Deno.test("server --help names --quota and --retention", async () => {
  const r = await runProgram("server.ts", ["--help"]);
  assert.match(r.out, /--quota MIB/);
  assert.match(r.out, /--retention DAYS/);
});
