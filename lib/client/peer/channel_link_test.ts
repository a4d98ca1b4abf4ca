/**
 * ChannelLink alone, over fake channels (the conformance suite runs it over real ones,
 * tests/link_conformance_test.ts): refusal codes, an ack resolving only its own channel's send, an
 * ended channel failing its sends, and the bounded memory of delivered mids.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { BackendError } from "../backend.ts";
import type { SealedEnvelope } from "../core/link.ts";
import { ChannelLink, RECENT_MIDS } from "./channel_link.ts";
import type { Channel } from "./channel.ts";
import type { PeerWireRecord } from "./wire.ts";

/** A channel that records what is said on it. */
function fakeChannel(): Channel & { said: PeerWireRecord[] } {
  const said: PeerWireRecord[] = [];
  return {
    said,
    ch: {} as Channel["ch"],
    outgoing: true,
    hello: true,
    alive: () => {},
    say: (r) => {
      said.push(r as PeerWireRecord);
      return Promise.resolve();
    },
    ended: false,
  };
}

function world() {
  const chans = new Map([["bob", fakeChannel()]]);
  let stopped = 0;
  const link = new ChannelLink({
    me: "alice",
    clock: new ManualClock(1000),
    known: (p) => {
      if (p !== "bob" && p !== "carol") throw new BackendError("no_such_peer", `No peer named ${p}`);
      return p;
    },
    channel: (p) => chans.get(p),
    stop: () => Promise.resolve(void stopped++),
  });
  return { link, bob: chans.get("bob")!, stopped: () => stopped };
}

const code = (c: string) => (e: unknown) => e instanceof BackendError && e.code === c;
const BODY = new Uint8Array([1, 2, 3]);

Deno.test("ChannelLink: refusals carry their codes (no_rooms, no_such_peer, offline, closed)", async () => {
  const { link, stopped } = world();
  await assert.rejects(link.send({ kind: "room", name: "dev" }, "m1", BODY), code("no_rooms"));
  await assert.rejects(link.send({ kind: "user", name: "dave" }, "m1", BODY), code("no_such_peer"));
  await assert.rejects(link.send({ kind: "user", name: "carol" }, "m1", BODY), code("offline"));
  await link.close();
  await link.close();
  assert.equal(stopped(), 1, "the node is stopped once");
  await assert.rejects(link.send({ kind: "user", name: "bob" }, "m1", BODY), code("closed"));
});

Deno.test("ChannelLink: an ack answers its mid on its channel only; an ended channel fails the rest", async () => {
  const { link, bob } = world();
  const to = { kind: "user" as const, name: "bob" };
  const a = link.send(to, "m1", BODY, { ts: 5 });
  const b = link.send(to, "m2", BODY);
  assert.deepEqual(bob.said[0], { t: "msg", mid: "m1", ts: 5, env: "AQID" });
  link.acked(fakeChannel(), "m1"); // another channel's ack: not this send's
  link.acked(bob, "m1");
  assert.deepEqual(await a, { mid: "m1", ts: 5, seq: 0 });
  link.ended(bob);
  await assert.rejects(b, code("closed"));
});

Deno.test("ChannelLink: a delivered mid is acknowledged again, not delivered twice; the memory is bounded", async () => {
  const { link, bob } = world();
  const got: SealedEnvelope[] = [];
  link.receive((e) => void got.push(e));
  await link.arrived("bob", bob, { mid: "m1", ts: 5000, body: BODY });
  await link.arrived("bob", bob, { mid: "m1", ts: 6000, body: BODY });
  assert.equal(got.length, 1);
  assert.equal(got[0]!.ts, 1000, "a peer's clock cannot put it in the future");
  assert.deepEqual(bob.said, [{ t: "ack", mid: "m1" }, { t: "ack", mid: "m1" }]);
  // A receiver that fails leaves the message unacknowledged and not remembered.
  const off = link.receive(() => Promise.reject(new Error("cannot open")));
  await assert.rejects(link.arrived("bob", bob, { mid: "m2", ts: 1, body: BODY }));
  off();
  await link.arrived("bob", bob, { mid: "m2", ts: 1, body: BODY });
  assert.equal(got.filter((e) => e.mid === "m2").length, 2, "handed over again once it was not taken");
  for (let i = 0; i < RECENT_MIDS; i++) await link.arrived("bob", bob, { mid: `x${i}`, ts: 1, body: BODY });
  await link.arrived("bob", bob, { mid: "m1", ts: 1, body: BODY });
  assert.equal(got.filter((e) => e.mid === "m1").length, 2, "forgotten after RECENT_MIDS others");
});
