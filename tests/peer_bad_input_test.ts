/**
 * Issue 13: the bad-input list against a peer node's listener (a real `parley peer` process):
 * garbage, a 4 GiB and an over-the-cap length prefix, a frame that is not a handshake, a slow
 * handshake (one byte at a time) and 500 idle connections — each closed (at once, or at the 10 s
 * handshake deadline), while the node keeps exchanging messages with its real peer.
 */
import assert from "node:assert/strict";
import { ScriptPeer, STAMP } from "./peer_harness.ts";

/** Resolves with the ms until the peer closed `c` (EOF or reset), or null if still open after `ms`. */
function closedWithin(c: Deno.Conn, ms: number): Promise<number | null> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    const buf = new Uint8Array(64);
    const loop = (): Promise<void> => c.read(buf).then((n) => (n === null ? done() : loop()), () => done());
    const done = () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    };
    void loop();
  });
}

Deno.test("peer mode: a listener under garbage, huge prefixes, a slow handshake and 500 idle connections keeps serving its peer", async () => {
  const dir = await Deno.makeTempDir();
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  const bob = await ScriptPeer.start("bob", `${dir}/b`);
  const conns: Deno.Conn[] = [];
  const open = async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: bob.port });
    conns.push(c);
    return c;
  };
  let n = 0;
  const roundTrip = async () => {
    n++;
    await alice.send(`msg bob ping ${n}`);
    await bob.waitLine(new RegExp(`^${STAMP} alice ping ${n}$`), 5000);
    await bob.send(`msg alice pong ${n}`);
    await alice.waitLine(new RegExp(`^${STAMP} bob pong ${n}$`), 5000);
  };
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await roundTrip();

    // Closed at once: garbage, a 4 GiB prefix, a prefix over the 1 MiB cap, a frame that is no handshake.
    const junk = new Uint8Array(4096);
    crypto.getRandomValues(junk);
    junk.set([0, 0, 0, 64]); // a plausible length, then noise
    const frame = new TextEncoder().encode('{"k":"rec"}');
    const notHandshake = new Uint8Array([
      0,
      0,
      0,
      4 + frame.length + 3,
      0,
      0,
      0,
      frame.length,
      ...frame,
      1,
      2,
      3,
    ]);
    for (
      const bytes of [junk, Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0, 0x20, 0, 0), notHandshake]
    ) {
      const c = await open();
      await c.write(bytes).catch(() => {});
      assert.notEqual(await closedWithin(c, 3000), null, `still open after ${bytes.slice(0, 8)}`);
    }
    await roundTrip();

    // A slow handshake: a valid length prefix, then one byte every 400 ms.
    const slow = await open();
    const slowClosed = closedWithin(slow, 20_000);
    let dripping = true;
    const drip = (async () => {
      await slow.write(Uint8Array.of(0, 0, 1, 0)).catch(() => {});
      while (dripping) {
        await new Promise((r) => setTimeout(r, 400));
        if (!dripping || (await slow.write(Uint8Array.of(0x20)).catch(() => 0)) === 0) return;
      }
    })();
    // 500 idle connections: most are refused at once (per-address cap); the rest wait for the deadline.
    const idle: Promise<number | null>[] = [];
    for (let i = 0; i < 500; i++) {
      const c = await open().catch(() => null);
      idle.push(c ? closedWithin(c, 20_000) : Promise.resolve(0));
    }
    // Meanwhile the real peer is served as before.
    const t0 = Date.now();
    await roundTrip();
    await roundTrip();
    assert.ok(Date.now() - t0 < 8000, `round trips took ${Date.now() - t0} ms under the flood`);
    const slowMs = await slowClosed;
    dripping = false;
    await drip;
    assert.ok(slowMs !== null && slowMs >= 8000, `the slow handshake was closed after ${slowMs} ms`);
    const idleMs = await Promise.all(idle);
    assert.ok(
      idleMs.every((ms) => ms !== null),
      `${idleMs.filter((m) => m === null).length} idle connections still open`,
    );
    // Admission control (at most 16 open from one address, new ones at 5/s after a burst of 20)
    // refuses the rest at once; those let in are closed at the handshake deadline.
    const waited = idleMs.filter((ms) => ms! >= 5000).length;
    assert.ok(waited <= 16, `${waited} idle connections were let in`);
    await roundTrip();
    await bob.send("peers");
    await bob.waitLine(/^peer alice \S+ unverified online$/);
    assert.ok(!bob.lines.some((l) => l.startsWith("disconnected")), bob.lines.join("\n"));
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all([alice.quit(), bob.quit()]);
    await Deno.remove(dir, { recursive: true });
  }
});
