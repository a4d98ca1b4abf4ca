import assert from "node:assert/strict";
import { FrameDecoder } from "../protocol/frame.ts";
import { Hub } from "./hub.ts";
import { MessageLog } from "./message_log.ts";
import { COPY_MAX, type Outbox } from "./outbox.ts";
import { RUN_BYTES } from "./room_run.ts";
import type { Session } from "./session.ts";
import { liveSession } from "./session_testing.ts";
import { SqliteStore } from "./store/sqlite_store.ts";
import type { NewMessage } from "./store/store.ts";
import type { MsgFields } from "../protocol/frame_put.ts";

/** A live session whose outbox records each push: the `msg` mids of a frame push, `ok SEQ` of a reply. */
function recording(hub: Hub, user: string): { s: Session; pushes: string[][] } {
  const pushes: string[][] = [];
  const outbox = {
    push: (f: Uint8Array) => (pushes.push(new FrameDecoder().push(f).map((x) => `${x.header.mid}`)), true),
    pushMsg: (m: MsgFields) => (pushes.push([m.mid]), 1),
    pushStored: (_id: number, seq: number) => (pushes.push([`ok ${seq}`]), 1),
  } as unknown as Outbox;
  return { s: liveSession(hub, user, outbox), pushes };
}

const roomMsg = (mid: string, sender: string, bytes = 3): NewMessage => ({
  mid,
  sender,
  kind: "room",
  target: "r",
  conv: "r:r",
  ts: 1,
  body: new Uint8Array(bytes),
});

async function setUp() {
  const store = new SqliteStore(":memory:");
  for (const name of ["alice", "bob", "carol", "dave"]) {
    await store.createUser({ name, hash: "x", role: "user", createdAt: 0 });
  }
  const hub = new Hub();
  hub.rooms.set("r", new Set(["alice", "bob", "carol", "dave"]));
  return { store, hub, log: new MessageLog(store, hub) };
}

/** Queues `msgs` in one turn, each from its session, the sender's `ok` pushed when told; resolves once all are told. */
function sendAll(log: MessageLog, msgs: [NewMessage, Session][]): Promise<unknown> {
  return Promise.all(msgs.map(([m, from], id) =>
    new Promise<void>((done, fail) =>
      log.enqueue({
        m,
        from,
        stored: (r) => (from.replyStored(id, r!.seq, r!.ts), done()),
        failed: fail,
      })
    )
  ));
}

Deno.test("room run: a member who sent none of a batch's room messages gets them in one push; senders get the others' between their oks", async () => {
  const { store, hub, log } = await setUp();
  const [alice, bob, carol, dave] = ["alice", "bob", "carol", "dave"].map((u) => recording(hub, u));
  // dave's sync sent the first message of the coming batch already: he gets the rest one by one.
  const seq0 = (await log.append(roomMsg("m0", "carol"), null))!.seq;
  for (const x of [alice, bob, carol, dave]) x!.pushes.length = 0;
  dave!.s.beginSync();
  dave!.s.endSync(seq0 + 1);
  const before = log.deliveries;
  await sendAll(log, [
    [roomMsg("m1", "alice"), alice!.s],
    [roomMsg("m2", "bob"), bob!.s],
    [roomMsg("m3", "alice"), alice!.s],
  ]);
  assert.deepEqual(carol!.pushes, [["m1", "m2", "m3"]], "one push of the three frames, in order");
  assert.deepEqual(
    alice!.pushes,
    [[`ok ${seq0 + 1}`], ["m2"], [`ok ${seq0 + 3}`]],
    "no own message; bob's between the oks",
  );
  assert.deepEqual(bob!.pushes, [["m1"], [`ok ${seq0 + 2}`], ["m3"]]);
  assert.deepEqual(dave!.pushes, [["m2"], ["m3"]], "what the sync sent is not sent again");
  assert.equal(log.deliveries - before, 3 + 1 + 2 + 2, "every frame counted");
  await log.close();
  await store.close();
});

Deno.test("room run: a run ends at another target, at a big frame and at RUN_BYTES; the frames still go in batch order", async () => {
  const { store, hub, log } = await setUp();
  const [alice, carol] = ["alice", "carol"].map((u) => recording(hub, u));
  hub.rooms.set("r2", new Set(["alice", "carol"]));
  const small = 15_000, many = Math.ceil(RUN_BYTES / small) + 2; // more than one run holds
  const mids = Array.from({ length: many }, (_, i) => `a${i}`);
  await sendAll(log, [
    ...mids.map((mid): [NewMessage, Session] => [roomMsg(mid, "alice", small), alice!.s]),
    [{ ...roomMsg("d1", "alice"), kind: "user", target: "carol", conv: "d:alice:carol" }, alice!.s],
    [roomMsg("b1", "alice", COPY_MAX), alice!.s], // a frame past COPY_MAX: alone
    [roomMsg("e0", "alice"), alice!.s],
    [{ ...roomMsg("x1", "alice"), target: "r2", conv: "r:r2" }, alice!.s],
    [roomMsg("e1", "alice"), alice!.s],
    [roomMsg("e2", "alice"), alice!.s],
  ]);
  const [first, second, ...rest] = carol!.pushes;
  assert.ok(first!.length > 1 && second!.length > 1, "runs of several frames");
  assert.deepEqual([...first!, ...second!], mids, "split at RUN_BYTES, in order");
  assert.deepEqual(rest, [["d1"], ["b1"], ["e0"], ["x1"], ["e1", "e2"]]);
  await log.close();
  await store.close();
});

Deno.test("a room of 1,000: each stored message is encoded once, the same bytes pushed to every member", async () => {
  // Issue 73 (big rooms): a frame per member would be 1,000 encodings a message; one is shared.
  const store = new SqliteStore(":memory:");
  const hub = new Hub();
  const members = Array.from({ length: 1000 }, (_, i) => `u${i}`);
  hub.rooms.set("r", new Set(members));
  const log = new MessageLog(store, hub);
  const seen = new Map<Uint8Array, number>(); // each frame pushed → how many members got it
  const outbox = {
    push: (f: Uint8Array) => (seen.set(f, (seen.get(f) ?? 0) + 1), true),
    pushStored: () => 1,
  } as unknown as Outbox;
  const sessions = members.map((u) => liveSession(hub, u, outbox));
  // A small message (a room run: room_run.ts) and one too big for a run (Hub.fanOut), from u0.
  for (const bytes of [100, COPY_MAX + 1]) {
    seen.clear();
    await sendAll(log, [[{ ...roomMsg(`m${bytes}`, "u0", bytes) }, sessions[0]!]]);
    assert.equal(seen.size, 1, `one encoding of the ${bytes}-byte message`);
    assert.deepEqual([...seen.values()], [999], "pushed to every member but its sender");
  }
  await log.close();
  await store.close();
});
