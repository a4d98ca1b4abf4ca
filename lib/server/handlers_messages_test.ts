import assert from "node:assert/strict";
import { FrameDecoder } from "../protocol/frame.ts";
import type { Request } from "../protocol/messages.ts";
import type { Core } from "./core.ts";
import { send, sync } from "./handlers_messages.ts";
import { ack } from "./handlers_ack.ts";
import { Hub } from "./hub.ts";
import { MessageLog, QUEUE_HIGH } from "./message_log.ts";
import { Outbox } from "./outbox.ts";
import type { TokenBucket } from "./rate.ts";
import { Session } from "./session.ts";
import { SqliteStore } from "./store/sqlite_store.ts";
import { StoreUnavailable } from "./store/store_errors.ts";
import { liveSession } from "./session_testing.ts";
import { until } from "../common/wait_testing.ts";

/** A core with what `send` uses: a hub that knows alice, bob and the room #dev (alice only). */
function setup() {
  const store = new SqliteStore(":memory:");
  const hub = new Hub();
  hub.users.add("alice").add("bob");
  hub.rooms.set("dev", new Set(["alice"]));
  const log = new MessageLog(store, hub);
  const c = {
    hub,
    store,
    messages: log,
    clock: { now: () => 1000 },
    config: { logMessages: false, quotaBytes: 1e9, maxQueueBytes: 1e6 },
    log: { info() {}, error() {} },
    dataSpaceRefusal: () => null,
    reserveQuota: () => true,
    releaseQuota() {},
    knownUser: (n: string) => Promise.resolve(hub.users.has(n)),
  } as unknown as Core;
  const written: Uint8Array[] = [];
  const outbox = new Outbox(
    { write: (p) => (written.push(p.slice()), Promise.resolve(p.length)) },
    1e6,
    () => {},
    () => {},
  );
  const s = new Session("127.0.0.1:1", 0, outbox, {} as TokenBucket, () => {});
  s.user = "alice";
  s.state = "ready";
  const replies = () => written.flatMap((w) => new FrameDecoder().push(w).map((f) => f.header));
  return { store, log, c, s, replies };
}

const req = (id: number, to: Request<"send">["to"]): Request<"send"> => ({
  t: "send",
  id,
  to,
  mid: `m${id}`,
});

Deno.test("send: a DM to a known user, or a room in the cache, is queued for the group commit before send returns (no promise)", async () => {
  const { store, log, c, s, replies } = setup();
  assert.equal(send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(3)), undefined);
  assert.equal(send(c, s, req(2, { kind: "room", name: "dev" }), new Uint8Array(3)), undefined);
  assert.equal(log.queued, 2, "both queued at once");
  assert.equal(s.inflight, 2);
  await log.flush();
  await until(() => replies().length >= 2, "both answers"); // the outbox writes on a later turn
  assert.equal(s.inflight, 0, "answered after the commit");
  assert.deepEqual(replies().map((h) => [h.t, h.id, h.seq]), [["ok", 1, 1], ["ok", 2, 2]]);
  await log.close();
  await store.close();
});

Deno.test("send: a DM to the last DM's target reuses its resolved target; another name, or another user, resolves again", async () => {
  const { store, log, c, s } = setup();
  c.hub.users.add("carol");
  const sent: [string, string, string][] = []; // sender, target, conv as stored
  const appendMessages = store.appendMessages.bind(store);
  store.appendMessages = (ms, acks) => {
    for (const m of ms) sent.push([m.sender, m.target, m.conv]);
    return appendMessages(ms, acks);
  };
  send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(1));
  const first = s.lastDm?.t;
  send(c, s, req(2, { kind: "user", name: "bob" }), new Uint8Array(1));
  assert.ok(first && s.lastDm?.t === first, "the same target again: resolved once");
  send(c, s, req(3, { kind: "user", name: "Bob" }), new Uint8Array(1)); // normalised: bob again
  send(c, s, req(4, { kind: "user", name: "carol" }), new Uint8Array(1));
  s.user = "bob"; // (a session's user is set once, at login; the target is keyed by it anyway)
  send(c, s, req(5, { kind: "user", name: "carol" }), new Uint8Array(1));
  send(c, s, req(6, { kind: "user", name: "nobody" }), new Uint8Array(1)); // looked up, refused
  await log.flush();
  assert.deepEqual(sent, [
    ["alice", "bob", "d:alice:bob"],
    ["alice", "bob", "d:alice:bob"],
    ["alice", "bob", "d:alice:bob"],
    ["alice", "carol", "d:alice:carol"],
    ["bob", "carol", "d:bob:carol"],
  ]);
  await log.close();
  await store.close();
});

Deno.test("send: an unknown user is looked up (a promise) and refused; a room one is not in, refused at once", async () => {
  const { store, log, c, s, replies } = setup();
  const r = send(c, s, req(1, { kind: "user", name: "carol" }), new Uint8Array(3));
  assert.ok(r instanceof Promise);
  await r;
  c.hub.rooms.set("ops", new Set(["bob"]));
  assert.equal(send(c, s, req(2, { kind: "room", name: "ops" }), new Uint8Array(3)), undefined);
  assert.equal(log.queued, 0);
  await until(() => replies().length >= 2, "both refusals");
  assert.deepEqual(replies().map((h) => [h.t, h.id, h.code]), [["err", 1, "no_such_user"], [
    "err",
    2,
    "not_member",
  ]]);
  await log.close();
  await store.close();
});

Deno.test("send: a DM naming its devices is checked against the store's rows at once: queued, or refused with the lists", async () => {
  const { store, log, c, s, replies } = setup();
  for (const [u, n] of [["alice", 2], ["bob", 1]] as const) {
    for (let i = 0; i < n; i++) await store.addDevice(u, "", 0, 0);
  }
  const dm = (id: number, devices: string[]) => ({ ...req(id, { kind: "user", name: "bob" }), devices });
  assert.equal(send(c, s, dm(1, ["bob", "alice/2"]), new Uint8Array(3)), undefined, "no promise");
  assert.equal(log.queued, 1);
  assert.equal(send(c, s, dm(2, ["bob"]), new Uint8Array(3)), undefined, "no promise");
  assert.equal(log.queued, 1, "refused: alice's device 2 was left out");
  await log.flush();
  await until(() => replies().length >= 2, "both answers");
  const got = replies().map((h) => [h.t, h.id, h.code ?? h.seq, h.devices]);
  assert.deepEqual(got, [["err", 2, "devices_changed", { bob: [1], alice: [1, 2] }], [
    "ok",
    1,
    1,
    undefined,
  ]]);
  await log.close();
  await store.close();
});

Deno.test("ack: bounded by the seq the log knows is stored; the store is asked only for an ack above it", async () => {
  const { store, log, c, s, replies } = setup();
  let asked = 0;
  const lastSeq = store.lastSeq.bind(store);
  store.lastSeq = () => (asked++, lastSeq());
  send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(3));
  await log.flush();
  const seq = log.storedTop;
  assert.ok(seq > 0, "the commit made its seq known");
  s.user = "bob";
  const acked = (id: number, n: number) =>
    ack(c, s, { t: "ack", id, acks: [{ conv: "d:alice:bob", seq: n }] });
  await acked(10, seq);
  assert.equal(asked, 0, "an ack of a stored seq asks nothing");
  await acked(11, seq + 5);
  assert.equal(asked, 1, "an ack above it asks the store once");
  // the acks' own commit (ACK_HOLD_MS), then the outbox
  await until(() => replies().filter((h) => h.id === 10 || h.id === 11).length >= 2, "both acks answered");
  const r = replies().filter((h) => h.id === 10 || h.id === 11);
  assert.deepEqual(
    r.map((h) => [h.id, h.acked, h.skipped]),
    [[11, 0, 1], [10, 1, 0]],
    "a seq never stored is skipped (answered at once); a taken one is answered after its commit",
  );
  await log.close();
  await store.close();
});

Deno.test("ack: the usual ack returns no promise, so the connection's next requests run at once; its answer follows the commit", async () => {
  const { store, log, c, s, replies } = setup();
  send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(3));
  await log.flush();
  s.user = "bob";
  const r = ack(c, s, { t: "ack", id: 20, acks: [{ conv: "d:alice:bob", seq: log.storedTop }] });
  assert.equal(r, undefined, "no promise for the request chain to wait on");
  assert.deepEqual(replies().filter((h) => h.id === 20), [], "not answered before its commit");
  await log.flush();
  await until(() => replies().some((h) => h.id === 20), "the ack answered"); // the outbox writes on a later turn
  assert.deepEqual(replies().filter((h) => h.id === 20).map((h) => h.acked), [1]);
  const pending = await store.pending("bob", 0, 10);
  assert.deepEqual(pending, [], "the cursor moved");
  await log.close();
  await store.close();
});

Deno.test("ack: a big ack returns no promise either; its entries count toward the connection's window and the log's backlog until its commit", async () => {
  const { store, log, c, s } = setup();
  send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(3));
  await log.flush();
  s.user = "bob";
  const acks = Array.from({ length: QUEUE_HIGH }, () => ({ conv: "d:alice:bob", seq: log.storedTop }));
  assert.equal(log.room(), null);
  const before = s.inflight;
  assert.equal(ack(c, s, { t: "ack", id: 21, acks }), undefined, "no promise for the request chain");
  assert.equal(s.inflight - before, QUEUE_HIGH, "the reader waits for it as for as many sends");
  const below = s.inflightBelow(before + 1);
  assert.equal(log.backlog, QUEUE_HIGH);
  const wait = log.room();
  assert.ok(wait instanceof Promise, "readers wait while its entries are queued");
  await wait; // a commit took a batch of them, without waiting ACK_HOLD_MS for a message
  await below;
  assert.equal(s.inflight, before, "settled once committed");
  assert.equal(log.backlog, 0);
  assert.deepEqual(await store.pending("bob", 0, 10), [], "committed");
  await log.close();
  await store.close();
});

Deno.test("sync: one that fails (the store out of reach) leaves live delivery live, or back to none, never held for ever (issue 74.4)", async () => {
  const { store, log, c, s } = setup();
  const pushed: Uint8Array[] = [];
  const bobBox = {
    push: (f: Uint8Array) => (pushed.push(f), true),
    pushMsg: () => (pushed.push(new Uint8Array(1)), 1),
    pushJson: () => 1,
    bytes: 0,
  } as unknown as Outbox;
  const bob = liveSession(c.hub, "bob", bobBox);
  const pending = store.pending.bind(store);
  let down = true;
  store.pending = (...a) => down ? Promise.reject(new StoreUnavailable()) : pending(...a);
  const live = bob.delivery;
  const dm = (id: number) => send(c, s, req(id, { kind: "user", name: "bob" }), new Uint8Array(3));
  // Live, then a sync that fails: the DMs stored after it still go to bob as they come.
  await assert.rejects(sync(c, bob, { t: "sync", id: 1 }), StoreUnavailable);
  assert.equal(bob.delivery, live);
  dm(1), dm(2);
  await log.flush();
  assert.equal(pushed.length, 2, "the DMs stored after the failed sync were pushed to bob live");
  // Not live yet (a fresh session), a sync that fails: back to none, nothing held; the next sync sends the queue.
  bob.delivery = "none";
  await assert.rejects(sync(c, bob, { t: "sync", id: 2 }), StoreUnavailable);
  assert.equal(bob.delivery, "none");
  down = false;
  await sync(c, bob, { t: "sync", id: 3 });
  assert.equal(bob.delivery, "live");
  dm(3);
  await log.flush();
  assert.equal(pushed.length, 3);
});

Deno.test("ack: a commit that fails with the store out of reach is answered unavailable (WARN); a bug, internal (ERROR)", async () => {
  const { store, log, c, s, replies } = setup();
  send(c, s, req(1, { kind: "user", name: "bob" }), new Uint8Array(3));
  await log.flush();
  s.user = "bob";
  const logged: string[] = [];
  (c as { log: unknown }).log = {
    info() {},
    warn: (e: string, f: { code?: string }) => logged.push(`WARN ${e} ${f.code}`),
    error: (e: string) => logged.push(`ERROR ${e}`),
  };
  for (const [id, fail] of [[30, new StoreUnavailable()], [31, new TypeError("a bug")]] as const) {
    (c as { messages: unknown }).messages = { ack: () => Promise.reject(fail) };
    await ack(c, s, { t: "ack", id, acks: [{ conv: "d:alice:bob", seq: log.storedTop }] });
  }
  await until(() => replies().filter((h) => h.id === 30 || h.id === 31).length >= 2, "both acks answered");
  assert.deepEqual(replies().filter((h) => h.id === 30 || h.id === 31).map((h) => [h.id, h.code]), [
    [30, "unavailable"],
    [31, "internal"],
  ]);
  assert.deepEqual(logged, ["WARN handler unavailable", "ERROR handler"]);
  await log.close();
  await store.close();
});
