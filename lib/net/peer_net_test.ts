import assert from "node:assert/strict";
import { utf8 } from "../common/bytes.ts";
import { generateIdentity, publicIdentity, sameIdentity } from "../crypto/identity.ts";
import { ManualClock } from "../common/clock.ts";
import { BULK_PAID, dialPeer, listenPeer, type PeerChannel, PeerNetError } from "./peer_net.ts";
import { until } from "../common/wait_testing.ts";

const alice = await generateIdentity();
const bob = await generateIdentity();
const mallory = await generateIdentity();
const dec = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

function listen(extra: Record<string, unknown> = {}) {
  const got: PeerChannel[] = [];
  const waiters: ((c: PeerChannel) => void)[] = [];
  const ln = listenPeer(
    { hostname: "127.0.0.1", port: 0, identity: bob, name: "bob", ...extra },
    (c) => (waiters.length ? waiters.shift()!(c) : got.push(c)),
  );
  const next = () => new Promise<PeerChannel>((r) => got.length ? r(got.shift()!) : waiters.push(r));
  return { ln, next };
}

Deno.test("peer net: dial, authenticate both ways, exchange records in order, close ends recv", async () => {
  const { ln, next } = listen();
  try {
    const a = await dialPeer("127.0.0.1", ln.port, {
      identity: alice,
      name: "alice",
      expect: publicIdentity(bob),
    });
    const b = await next();
    assert.ok(sameIdentity(a.peer, publicIdentity(bob)));
    assert.ok(sameIdentity(b.peer, publicIdentity(alice)));
    assert.equal(a.peerName, "bob");
    assert.equal(b.peerName, "alice");
    for (let i = 0; i < 50; i++) void a.send(utf8.encode(`m${i}`));
    for (let i = 0; i < 50; i++) assert.equal(dec(await b.recv()), `m${i}`);
    await b.send(utf8.encode("back"));
    assert.equal(dec(await a.recv()), "back");
    a.close();
    assert.equal(await b.recv(), null);
    await b.closed;
  } finally {
    ln.close();
  }
});

Deno.test("peer net: the wrong identity or the wrong purpose is refused", async () => {
  const { ln } = listen();
  try {
    const e1 = await dialPeer("127.0.0.1", ln.port, { identity: alice, expect: publicIdentity(mallory) })
      .catch((e) => e);
    assert.ok(e1 instanceof PeerNetError && e1.code === "handshake", String(e1));
    const e2 = await dialPeer("127.0.0.1", ln.port, { identity: alice, purpose: "parley-file-v1" }).catch((
      e,
    ) => e);
    assert.ok(e2 instanceof PeerNetError && e2.code === "handshake", String(e2));
    const e3 = await dialPeer("127.0.0.1", 1, { identity: alice }).catch((e) => e);
    assert.ok(e3 instanceof PeerNetError && e3.code === "unreachable", String(e3));
  } finally {
    ln.close();
  }
});

Deno.test("peer net: a tampered record on the wire ends the channel (no plaintext comes out)", async () => {
  // A man in the middle relays bytes and flips the last bit of the first record (the one chunk
  // holding a {"k":"rec"} frame header; only one record is sent).
  const { ln, next } = listen();
  const relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const close = (c: Deno.Conn) => {
    try {
      c.close();
    } catch { /* closed */ }
  };
  (async () => {
    for await (const c of relay) {
      const up = await Deno.connect({ hostname: "127.0.0.1", port: ln.port });
      (async () => {
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(buf).catch(() => null);
          if (n === null) break;
          const chunk = buf.slice(0, n);
          if (new TextDecoder().decode(chunk).includes('{"k":"rec"}')) chunk[chunk.length - 1]! ^= 1;
          await up.write(chunk).catch(() => {});
        }
        close(up);
      })();
      (async () => {
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await up.read(buf).catch(() => null);
          if (n === null) break;
          await c.write(buf.slice(0, n)).catch(() => {});
        }
        close(c);
      })();
    }
  })().catch(() => {});
  try {
    const a = await dialPeer("127.0.0.1", (relay.addr as Deno.NetAddr).port, { identity: alice });
    const b = await next();
    await a.send(utf8.encode("secret"));
    assert.equal(await b.recv(), null);
    a.close();
  } finally {
    relay.close();
    ln.close();
  }
});

Deno.test("peer net: garbage, a huge length prefix and a slow handshake are dropped; real peers keep talking", async () => {
  const { ln, next } = listen({ handshakeMs: 400, perAddress: 64, acceptPerSec: 0 });
  try {
    const a = await dialPeer("127.0.0.1", ln.port, { identity: alice });
    const b = await next();
    const closedSoon = async (bytes: Uint8Array | null) => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: ln.port });
      if (bytes) await c.write(bytes);
      const t0 = Date.now();
      const timer = setTimeout(() => c.close(), 5000); // still open after 5 s: the read fails below
      const n = await c.read(new Uint8Array(16)).catch(() => "held open");
      clearTimeout(timer);
      try {
        c.close();
      } catch { /* closed by the timer */ }
      return { n, ms: Date.now() - t0 };
    };
    // 4 GiB - 1 prefix: closed before any allocation.
    assert.equal((await closedSoon(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).n, null);
    assert.equal((await closedSoon(utf8.encode("GET / HTTP/1.1\r\n\r\n"))).n, null);
    // A first frame that is not a handshake message.
    const junk = Uint8Array.of(0, 0, 0, 13, 0, 0, 0, 9, ...utf8.encode('{"k":"hs"}'), 7, 7, 7);
    assert.equal((await closedSoon(junk)).n, null);
    // Slowloris: nothing sent, dropped at the deadline.
    const slow = await closedSoon(null);
    assert.equal(slow.n, null);
    assert.ok(slow.ms >= 300, `dropped after ${slow.ms} ms`);
    await a.send(utf8.encode("still here"));
    assert.equal(dec(await b.recv()), "still here");
    a.close();
  } finally {
    ln.close();
  }
});

Deno.test("peer net: per-address and total connection caps close the extra connections at once", async () => {
  const { ln } = listen({ perAddress: 3, acceptPerSec: 0, handshakeMs: 5000 });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port: ln.port }));
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: ln.port });
    assert.equal(await extra.read(new Uint8Array(4)).catch(() => null), null, "fourth refused");
    extra.close();
    assert.equal(ln.connections, 3);
    const e = await dialPeer("127.0.0.1", ln.port, { identity: alice, handshakeMs: 2000 }).catch((e) => e);
    assert.ok(e instanceof PeerNetError, String(e));
    for (const c of held.splice(0)) c.close();
    await until(() => ln.connections === 0, "the closed connections let go");
    const ok = await dialPeer("127.0.0.1", ln.port, { identity: alice });
    ok.close();
  } finally {
    for (const c of held) c.close();
    ln.close();
  }
});

Deno.test("peer net: the record rate holds records; a bulk frame of BULK_PAID bytes pays for the record before it", async () => {
  // The clock never moves: only the burst (3) and what bulk frames give back are there.
  const clock = new ManualClock();
  const { ln, next } = listen({ recordsPerSec: 1, recordsBurst: 3, clock });
  const within = <T>(p: Promise<T>, ms: number) => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (t = setTimeout(() => r("late"), ms)));
    return Promise.race([p, late]).finally(() => clearTimeout(t));
  };
  try {
    const a = await dialPeer("127.0.0.1", ln.port, { identity: alice });
    const b = await next();
    const big = new Uint8Array(BULK_PAID);
    // Ten records, each with a bulk frame that pays for it: all come (the burst is 3).
    for (let i = 0; i < 10; i++) {
      void a.send(utf8.encode(`r${i}`));
      void a.sendBulk(big);
      const got = await within(b.recv(), 2000);
      assert.ok(got !== "late", `record ${i} held`);
      assert.equal(dec(got), `r${i}`);
      assert.equal((await b.recvBulk())?.length, BULK_PAID);
    }
    // A smaller bulk frame does not: three records spend the burst, the fourth waits.
    for (let i = 0; i < 3; i++) {
      void a.send(utf8.encode(`s${i}`));
      void a.sendBulk(big.subarray(1));
      assert.equal(dec(await b.recv()), `s${i}`);
      assert.equal((await b.recvBulk())?.length, BULK_PAID - 1);
    }
    await a.send(utf8.encode("held"));
    const held = b.recv();
    assert.equal(await within(held, 300), "late", "a record past the burst was read");
    clock.advance(1000); // one token: it comes
    assert.equal(dec(await held), "held");
    a.close();
    b.close();
  } finally {
    await ln.close();
  }
});
