import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8 } from "../common/bytes.ts";
import { flipBit } from "./_test_util.ts";
import { DecryptError } from "./primitives.ts";
import { ReplayError } from "./ratchet.ts";
import { RoomManager } from "./room_manager.ts";
import { ROOM_ROTATE_EVERY } from "./sender_keys.ts";
import { MemoryCryptoStore } from "./state_store.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function member(name: string) {
  const store = new MemoryCryptoStore();
  return { name, store, rm: new RoomManager({ store, me: name }) };
}
type M = ReturnType<typeof member>;

/** Sends `text` from `from` to the room, handing the chain to whoever lacks it. */
async function send(from: M, room: string, members: M[], text: string): Promise<Uint8Array> {
  const plan = await from.rm.planSend(room, members.map((m) => m.name));
  for (const m of members) {
    if (plan.missing.includes(m.name)) m.store.commit(await m.rm.acceptDistribution(from.name, plan.dist));
  }
  await from.rm.markDistributed(room, plan.dist.chainId, plan.missing);
  return from.rm.encrypt(room, utf8.encode(text));
}

async function read(to: M, room: string, from: M, msg: Uint8Array): Promise<string> {
  const o = await to.rm.open(room, from.name, msg);
  to.store.commit(o.writes);
  return dec(o.plaintext);
}

Deno.test("RoomManager delivers a 3-member conversation and distributes each chain once", async () => {
  const [a, b, c] = [member("alice"), member("bob"), member("carol")];
  const all = [a, b, c];
  const m1 = await send(a, "dev", all, "hi all");
  assert.equal(await read(b, "dev", a, m1), "hi all");
  assert.equal(await read(c, "dev", a, m1), "hi all");
  const plan = await a.rm.planSend("dev", all.map((m) => m.name));
  assert.deepEqual(plan.missing, []);
  const m2 = await send(b, "dev", all, "hello alice");
  assert.equal(await read(a, "dev", b, m2), "hello alice");
  assert.equal(await read(c, "dev", b, m2), "hello alice");
});

Deno.test("RoomManager rotates after a kick: the removed member cannot read what follows", async () => {
  const [a, b, c] = [member("alice"), member("bob"), member("carol")];
  const m1 = await send(a, "dev", [a, b, c], "before");
  assert.equal(await read(c, "dev", a, m1), "before");
  await a.rm.memberLeft("dev", "carol");
  const m2 = await send(a, "dev", [a, b], "after");
  assert.equal(await read(b, "dev", a, m2), "after");
  await assert.rejects(() => c.rm.open("dev", "alice", m2), DecryptError);
  // Even without the leave event, a former holder missing from the members forces a new chain.
  const m3 = await send(b, "dev", [a, b, c], "b1");
  assert.equal(await read(c, "dev", b, m3), "b1");
  const plan = await b.rm.planSend("dev", ["alice", "bob"]);
  assert.equal(plan.rotated, true);
  assert.deepEqual(plan.missing, ["alice"]);
});

Deno.test("RoomManager gives a new member no earlier history", async () => {
  const [a, b, d] = [member("alice"), member("bob"), member("dave")];
  const old = await send(a, "dev", [a, b], "secret before dave");
  const m = await send(a, "dev", [a, b, d], "welcome dave");
  assert.equal(await read(d, "dev", a, m), "welcome dave");
  await assert.rejects(() => d.rm.open("dev", "alice", old), ReplayError);
});

Deno.test("RoomManager rotates every ROOM_ROTATE_EVERY messages", async () => {
  const [a, b] = [member("alice"), member("bob")];
  const chains = new Set<number>();
  for (let i = 0; i < ROOM_ROTATE_EVERY + 1; i++) {
    const msg = await send(a, "dev", [a, b], `m${i}`);
    assert.equal(await read(b, "dev", a, msg), `m${i}`);
    chains.add((await a.rm.planSend("dev", ["alice", "bob"])).dist.chainId);
  }
  assert.equal(chains.size, 2);
});

Deno.test("RoomManager.open() rejects replays, bit flips, another sender and another room; state unchanged", async () => {
  const [a, b, c] = [member("alice"), member("bob"), member("carol")];
  const msg = await send(a, "dev", [a, b, c], "once");
  await send(a, "ops", [a, b, c], "other room");
  assert.equal(await read(b, "dev", a, msg), "once");
  const fresh = await send(a, "dev", [a, b, c], "fresh");
  // a twin of bob that never sees the bad input: what it gets from `fresh` is the reference
  const twin = new MemoryCryptoStore();
  twin.commit({ put: Object.fromEntries([...b.store.data].map(([k, v]) => [k, JSON.parse(v)])), del: [] });
  const reference = await new RoomManager({ store: twin, me: "bob" }).open("dev", "alice", fresh);
  // open() never writes by itself (the caller commits `writes` with the message): count commits
  let commits = 0;
  const commit = b.store.commit.bind(b.store);
  b.store.commit = (w) => {
    commits++;
    commit(w);
  };
  await assert.rejects(() => b.rm.open("dev", "alice", msg), ReplayError);
  await assert.rejects(() => b.rm.open("ops", "alice", msg), DecryptError);
  await assert.rejects(() => b.rm.open("dev", "carol", msg), DecryptError);
  await fc.assert(
    fc.asyncProperty(fc.nat(fresh.length * 8 - 1), async (bit) => {
      await assert.rejects(() => b.rm.open("dev", "alice", flipBit(fresh, bit)));
    }),
    { numRuns: 40 },
  );
  // opened but not committed twice: nothing advanced, the same result both times
  const first = await b.rm.open("dev", "alice", fresh);
  const second = await b.rm.open("dev", "alice", fresh);
  assert.equal(commits, 0, "open() wrote to the store");
  for (const o of [first, second]) {
    assert.equal(dec(o.plaintext), "fresh");
    assert.deepEqual(o.writes, reference.writes, "the rejected input changed what the good message writes");
  }
  assert.equal(await read(b, "dev", a, fresh), "fresh");
});
