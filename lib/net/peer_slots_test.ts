/**
 * Issue 33 point 7: the peer listener's slots. Frames before the handshake are capped at a handshake
 * message's size; handshakes in progress are counted per /24 (IPv4) or /64 (IPv6), so a few source
 * addresses cannot fill every slot; some slots are kept for pinned peers. Source addresses other
 * than 127.0.0.1 come from node:net's `localAddress` (Deno.connect cannot bind one).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { generateIdentity, publicIdentity, sameIdentity } from "../crypto/identity.ts";
import { dialPeer, HANDSHAKE_MAX_FRAME, listenPeer, type PeerChannel } from "./peer_net.ts";
import { networkOf } from "../common/host_port.ts";
import { until } from "../common/wait_testing.ts";

const alice = await generateIdentity();
const bob = await generateIdentity();

/** A raw TCP connection from `from` (a 127/8 address); resolves once connected. */
function rawFrom(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => resolve(s));
    s.once("error", reject);
  });
}

/** True when the listener closed `s` within `ms`. */
function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once("end", done);
    s.once("close", done);
    s.once("error", done);
    s.resume();
  });
}

Deno.test("networkOf: /24 for IPv4 (mapped too), /64 for IPv6", () => {
  assert.equal(networkOf("192.0.2.77"), "192.0.2.0/24");
  assert.equal(networkOf("::ffff:192.0.2.1"), "192.0.2.0/24");
  assert.equal(networkOf("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(networkOf("2001:db8:1:2::9"), "2001:db8:1:2::/64");
  assert.equal(networkOf("[2001:DB8::1]"), "2001:db8:0:0::/64");
  assert.equal(networkOf("::1"), "0:0:0:0::/64");
  assert.notEqual(networkOf("192.0.2.1"), networkOf("192.0.3.1"));
});

Deno.test("peer slots: a frame announced larger than a handshake message is refused before it is buffered", async () => {
  const ln = listenPeer({ hostname: "127.0.0.1", port: 0, identity: bob, handshakeMs: 10_000 }, () => {});
  try {
    for (const size of [1 << 20, HANDSHAKE_MAX_FRAME + 512]) {
      const s = await rawFrom(ln.port, "127.0.0.1");
      const head = new Uint8Array(8);
      new DataView(head.buffer).setUint32(0, size);
      new DataView(head.buffer).setUint32(4, 10);
      s.write(head);
      s.write(new TextEncoder().encode('{"k":"hs"}'));
      s.write(new Uint8Array(HANDSHAKE_MAX_FRAME + 256)); // more than a handshake message, less than announced
      assert.ok(await closedWithin(s, 3000), `a ${size}-byte first frame was held, not closed`);
      s.destroy();
    }
  } finally {
    await ln.close();
  }
});

Deno.test("peer slots: 16 addresses of one /24 cannot take every slot; a peer from elsewhere still gets in", async () => {
  const got: PeerChannel[] = [];
  const ln = listenPeer(
    { hostname: "127.0.0.1", port: 0, identity: bob, handshakeMs: 10_000, maxConns: 64, acceptPerSec: 0 },
    (c) => got.push(c),
  );
  const held: net.Socket[] = [];
  try {
    // 16 source addresses × 4 connections of 127.0.2.0/24, each left in its handshake.
    for (let a = 1; a <= 16; a++) {
      for (let i = 0; i < 4; i++) held.push(await rawFrom(ln.port, `127.0.2.${a}`));
    }
    const closed = await Promise.all(held.map((s) => closedWithin(s, 500)));
    const kept = closed.filter((c) => !c).length;
    assert.ok(kept <= 8, `${kept} handshakes of one /24 held`);
    // A peer from 127.0.0.1 (another /24) connects and authenticates.
    const ch = await dialPeer("127.0.0.1", ln.port, { identity: alice, handshakeMs: 3000 });
    await until(() => got.some((c) => sameIdentity(c.peer, publicIdentity(alice))), "alice's channel");
    ch.close();
  } finally {
    for (const s of held) s.destroy();
    await ln.close();
  }
});

Deno.test("peer slots: the reserved slots take pinned peers only", async () => {
  const got: PeerChannel[] = [];
  const ln = listenPeer({
    hostname: "127.0.0.1",
    port: 0,
    identity: bob,
    maxConns: 4,
    reserved: 1,
    acceptPerSec: 0,
    isPinned: (p) => sameIdentity(p, publicIdentity(alice)),
  }, (c) => got.push(c));
  const mine: PeerChannel[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      mine.push(await dialPeer("127.0.0.1", ln.port, { identity: await generateIdentity() }));
    }
    await until(() => got.length >= 3, "three channels");
    assert.equal(got.length, 3);
    // A fourth stranger: authenticated, then refused (the last slot is kept).
    const stranger = await dialPeer("127.0.0.1", ln.port, { identity: await generateIdentity() });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = await Promise.race([
      stranger.recv(),
      new Promise((r) => (timer = setTimeout(() => r("still open"), 3000))),
    ]);
    clearTimeout(timer);
    stranger.close();
    assert.equal(end, null, "the stranger's channel was closed");
    // Alice is pinned: she takes the reserved slot.
    const a = await dialPeer("127.0.0.1", ln.port, { identity: alice });
    await until(() => got.some((c) => sameIdentity(c.peer, publicIdentity(alice))), "alice's channel");
    assert.equal(got.length, 4);
    a.close();
  } finally {
    for (const c of mine) c.close();
    await ln.close();
  }
});
