import assert from "node:assert/strict";
import { PeerNode } from "./node.ts";
import type { BackendEvent } from "../backend.ts";
import { PeerStore } from "./store.ts";
import { nextEvent as waitFor, say, testNode } from "./events_testing.ts";
import { ManualClock } from "../../common/clock.ts";
import { HeldBack } from "../core/link.ts";

const fast = { backoff: { minMs: 50, maxMs: 400 } };

async function node(name: string, home: string | null = null, port = 0): Promise<PeerNode> {
  const n = await PeerNode.start({
    name,
    store: await PeerStore.open(home, name),
    hostname: "127.0.0.1",
    port,
    ...fast,
  });
  if (Deno.env.get("PEER_DEBUG")) n.on((e) => console.error(name, JSON.stringify(e)));
  return n;
}
const msgFrom = (from: string, text: string) => (e: BackendEvent) =>
  e.type === "message" && e.message.from === from && e.message.text === text;

Deno.test("peer node: a triangle exchanges messages in every direction; inbox keeps them", async () => {
  const [a, b, c] = [await node("alice"), await node("bob"), await node("carol")];
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    assert.equal(await b.connect(`127.0.0.1:${c.port}`), "carol");
    assert.equal(await c.connect(`127.0.0.1:${a.port}`), "alice");
    const pairs = [[a, b], [b, a], [b, c], [c, b], [c, a], [a, c]] as const;
    for (const [x, y] of pairs) {
      const got = waitFor(y, msgFrom(x.name, `hi ${y.name} from ${x.name}`));
      await say(x, y.name, `hi ${y.name} from ${x.name}`);
      await got;
    }
    assert.deepEqual(a.inbox().map((m) => `${m.from}: ${m.text}`).sort(), [
      "bob: hi alice from bob",
      "carol: hi alice from carol",
    ]);
    assert.deepEqual(b.inbox("carol").map((m) => m.text), ["hi bob from carol"]);
    assert.ok(a.peers().every((p) => p.online && !p.verified && !p.changed));
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

Deno.test("peer node (issue 34.1): a text too long for one frame is refused with the limit, never queued", async () => {
  const a = await node("alice");
  const b = await node("bob");
  try {
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    await assert.rejects(
      async () => (await say(a, "bob", "x".repeat(1_500_000))),
      /too long .*at most \d+ bytes/,
    );
    assert.equal(a.store.local.pendingCount(), 0);
    const got = waitFor(b, msgFrom("alice", "still fine"));
    await say(a, "bob", "still fine");
    await got;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer node (issue 34.1): a too-long entry already in the outbox is marked failed, not sent at every connect", async () => {
  const a = await node("alice");
  const b = await node("bob");
  try {
    const to = { kind: "user" as const, name: "bob" };
    const HUGE = "a".repeat(32);
    a.store.local.addPending({ mid: HUGE, ts: Date.now(), to, text: "x".repeat(1_500_000) });
    a.store.local.addPending({ mid: "b".repeat(32), ts: Date.now() + 1, to, text: "behind it" });
    const failed = waitFor(a, (e) => e.type === "message" && !!e.message.failed && e.message.mid === HUGE);
    const got = waitFor(b, msgFrom("alice", "behind it"));
    const errors: string[] = [];
    const off = a.on((e) => void (e.type === "notice" && e.level === "error" && errors.push(e.text)));
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    await failed;
    await got;
    off();
    assert.equal(
      errors.length,
      1,
      "said once, by the core (the script prints it as the failure: cli/peer.ts)",
    );
    assert.match(errors[0]!, /^Not sent, and never will be: .*too long/);
    const [e] = a.store.local.outbox();
    assert.equal(e?.mid, HUGE);
    assert.match(e?.failed ?? "", /too long/);
    assert.ok(a.peers().find((p) => p.name === "bob")?.online, "the channel stayed up");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer node: messages to an unreachable peer wait in the outbox and go when it returns", async () => {
  const a = await node("alice");
  let b = await node("bob");
  const port = b.port;
  try {
    const up = waitFor(a, (e) => e.type === "presence" && e.online);
    await a.connect(`127.0.0.1:${port}`);
    await up;
    await b.close();
    await waitFor(a, (e) => e.type === "presence" && !e.online);
    const m = await say(a, "bob", "while you were away");
    assert.equal(m.pending, true);
    assert.equal(a.store.local.pendingCount(), 1);
    b = await node("bob", null, port); // a new in-memory bob: a new key, so alice must refuse it…
    await waitFor(a, (e) => e.type === "notice" && e.keyChanged === "bob");
    await assert.rejects(async () => (await say(a, "bob", "x")), /identity key of bob changed/);
    assert.equal(a.peers()[0]!.changed, true);
    const got = waitFor(b, msgFrom("alice", "while you were away"));
    await a.trust("bob"); // …until trusted; then the outbox goes
    await got;
    for (let i = 0; i < 100 && a.store.local.pendingCount() > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(a.store.local.pendingCount(), 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer node: a restarted node keeps inbox, keys and peers and resumes its ratchets", async () => {
  const home = await Deno.makeTempDir();
  let a = await node("alice", home);
  const b = await node("bob");
  try {
    await b.connect(`127.0.0.1:${a.port}`);
    let got = waitFor(a, msgFrom("bob", "one"));
    await say(b, "alice", "one");
    await got;
    const fp = (await a.fingerprint("bob")).safetyNumber;
    await a.trust("bob"); // bob dialled alice: a first contact is kept once alice accepts it (issue 33.8)
    const port = a.port;
    const back = waitFor(b, (e) => e.type === "presence" && e.online && e.user === "alice");
    await a.close();
    a = await node("alice", home, port);
    const changed: string[] = [];
    b.on((e) => e.type === "notice" && e.keyChanged && changed.push(e.keyChanged));
    a.on((e) => e.type === "notice" && e.keyChanged && changed.push(e.keyChanged));
    assert.deepEqual(a.inbox().map((m) => m.text), ["one"]);
    assert.equal((await a.fingerprint("bob")).safetyNumber, fp);
    // bob reconnects by itself (back-off) and the ratchet continues: no new session.
    await back;
    const before = JSON.stringify((a.store.get("session:bob") as { current: { base: string } }).current.base);
    got = waitFor(a, msgFrom("bob", "two"));
    await say(b, "alice", "two");
    await got;
    const after = JSON.stringify((a.store.get("session:bob") as { current: { base: string } }).current.base);
    assert.equal(after, before, "the same X3DH session continues");
    assert.deepEqual(changed, []);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer node: a first contact's ratchet outlives a restart for its key, and goes for another key under its name", async () => {
  const home = await Deno.makeTempDir();
  let a = await node("alice", home);
  const b = await node("bob");
  let b2: PeerNode | undefined;
  const base = () => (a.store.get("session:bob") as { current: { base: string } } | undefined)?.current.base;
  try {
    await b.connect(`127.0.0.1:${a.port}`);
    let got = waitFor(a, msgFrom("bob", "one"));
    await say(b, "alice", "one");
    await got;
    const port = a.port, before = base();
    const back = waitFor(b, (e) => e.type === "presence" && e.online && e.user === "alice");
    await a.close();
    a = await node("alice", home, port);
    assert.deepEqual(a.peers(), [], "the stranger was not kept");
    await back; // bob, who dialled, comes back by himself: a first contact again, with the same key
    got = waitFor(a, msgFrom("bob", "two"));
    await say(b, "alice", "two");
    await got;
    assert.equal(base(), before, "the same X3DH session continues");
    await Promise.all([a.close(), b.close()]);
    a = await node("alice", home, port);
    b2 = await node("bob"); // another host under the name, another key
    const up = waitFor(a, (e) => e.type === "presence" && e.online && e.user === "bob");
    await b2.connect(`127.0.0.1:${port}`);
    await up;
    assert.equal(base(), undefined, "the earlier key's ratchet went");
    got = waitFor(a, msgFrom("bob", "three"));
    await say(b2, "alice", "three");
    await got;
  } finally {
    await Promise.all([a.close(), b.close(), b2?.close()]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer node: a restarted node dials the peers it knows at their last address", async () => {
  const home = await Deno.makeTempDir();
  let a = await node("alice", home);
  const b = await node("bob");
  try {
    const up = waitFor(a, (e) => e.type === "presence" && e.online && e.user === "bob");
    await a.connect(`127.0.0.1:${b.port}`);
    await up;
    await a.close();
    // A new port: bob cannot find alice where she was, so only alice's memory brings them together.
    a = await PeerNode.start({
      name: "alice",
      store: await PeerStore.open(home, "alice"),
      hostname: "127.0.0.1",
      port: 0,
    });
    await waitFor(a, (e) => e.type === "presence" && e.online && e.user === "bob");
    assert.equal(a.peers()[0]!.addr, `127.0.0.1:${b.port}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer node: a channel that goes silent (never says hello) is dropped by the keepalive", async () => {
  const { dialPeer } = await import("../../net/peer_net.ts");
  const { generateIdentity } = await import("../../crypto/identity.ts");
  const a = await PeerNode.start({
    name: "alice",
    store: await PeerStore.open(null, "alice"),
    hostname: "127.0.0.1",
    port: 0,
    keepaliveMs: 100,
  });
  try {
    const mute = await dialPeer("127.0.0.1", a.port, { identity: await generateIdentity(), name: "mute" });
    const t0 = Date.now();
    // Reads what alice says (her hello; no pings, since mute never said hello) until she drops it.
    const drain = async () => {
      while ((await mute.recv()) !== null) { /* next */ }
      return true;
    };
    const dropped = await Promise.race([
      drain(),
      new Promise((r) => setTimeout(r, 5000, false)),
    ]);
    assert.equal(dropped, true, "the silent channel is still open after 5 s");
    assert.ok(Date.now() - t0 >= 250, `dropped after ${Date.now() - t0} ms, before three periods`);
    mute.close();
  } finally {
    await a.close();
  }
});

Deno.test("peer node: /peers --discover — a group forms from one verified introduction, and only then", async () => {
  const [a, b, c] = [await node("alice"), await node("bob"), await node("carol")];
  try {
    const ab = waitFor(a, (e) => e.type === "presence" && e.online && e.user === "bob");
    await a.connect(`127.0.0.1:${b.port}`);
    await ab;
    await b.connect(`127.0.0.1:${c.port}`);
    await a.fingerprint("bob"); // alice compares the number shown with bob…
    await a.trust("bob", true); // …and verified bob, but bob has not verified alice yet
    assert.equal((await a.trust("bob")).verified, true, "a plain trust of the key verified keeps it so");
    const said: BackendEvent[] = [];
    a.on((e) => void said.push(e));
    assert.equal(a.discover(), 1);
    // Fence: bob reads alice's records in order, so her later message comes after her `who`; his
    // reply then follows any `intro` he sent her on the same channel.
    const there = waitFor(b, msgFrom("alice", "after who"));
    await say(a, "bob", "after who");
    await there;
    const back = waitFor(a, msgFrom("bob", "after any intro"));
    await say(b, "alice", "after any intro");
    await back;
    assert.deepEqual(
      said.filter((e) => e.type === "notice" && /introduces/.test(e.text)),
      [],
      "bob introduces no one to a peer he has not verified",
    );
    assert.deepEqual(a.peers().map((p) => p.name), ["bob"]);
    await b.fingerprint("alice");
    await b.trust("alice", true);
    const ac = waitFor(a, (e) => e.type === "presence" && e.online && e.user === "carol");
    assert.equal(a.discover(), 1);
    await ac;
    const got = waitFor(c, msgFrom("alice", "found you through bob"));
    await say(a, "carol", "found you through bob");
    await got;
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

Deno.test("peer node: a host connecting under a pinned name after the numbers were compared gets nothing pinned (issue 33.1)", async () => {
  const a = await node("alice");
  const b = await node("bob");
  let b2: PeerNode | undefined, mallory: PeerNode | undefined;
  try {
    await a.connect(`127.0.0.1:${b.port}`);
    await b.close();
    // bob comes back with a new key; alice shows the new number and compares it with bob.
    b2 = await node("bob");
    let changed = waitFor(a, (e) => e.type === "notice" && e.keyChanged === "bob");
    await b2.connect(`127.0.0.1:${a.port}`).catch(() => {});
    await changed;
    const compared = await a.fingerprint("bob");
    assert.equal(compared.changed, true);
    // Before alice types verify, another host connects as "bob".
    mallory = await node("bob");
    changed = waitFor(a, (e) => e.type === "notice" && e.keyChanged === "bob");
    await mallory.connect(`127.0.0.1:${a.port}`).catch(() => {});
    await changed;
    const now = await a.fingerprint("bob");
    assert.equal(now.safetyNumber, compared.safetyNumber, "the first new key is not replaced");
    assert.equal(now.others?.length, 1, "the second is kept beside it, and shown");
    await assert.rejects(() => a.trust("bob", true), /more than one new key/);
    assert.equal(a.store.peer("bob")!.verified, false);
    const v = await a.trust("bob", true, compared.safetyNumber!);
    assert.equal(v.safetyNumber, compared.safetyNumber);
    const rec = a.store.peer("bob")!;
    assert.ok(rec.verified && !rec.pending && !rec.others);
    assert.equal(rec.identity.sign, b2.identity.sign.pub, "bob's new key, not mallory's");
  } finally {
    await Promise.all([a.close(), b2?.close(), mallory?.close()]);
  }
});

Deno.test("peer node: hosts that dial in under unused names pin none of them for good, nor an address to redial (issue 33.8)", async () => {
  const { dialPeer } = await import("../../net/peer_net.ts");
  const { generateIdentity } = await import("../../crypto/identity.ts");
  const { MAX_STRANGERS } = await import("./keys.ts");
  const home = await Deno.makeTempDir();
  const start = async () =>
    PeerNode.start({
      name: "alice",
      store: await PeerStore.open(home, "alice"),
      hostname: "127.0.0.1",
      port: 0,
      limits: { acceptPerSec: 1000, acceptBurst: 1000 },
      ...fast,
    });
  let a = await start();
  const squatter = await node("carol");
  try {
    // 30 hosts each claim a name, one after another.
    for (let i = 0; i < 30; i++) {
      const ch = await dialPeer("127.0.0.1", a.port, {
        identity: await generateIdentity(),
        name: `name${i}`,
      });
      for (let k = 0; k < 200 && !a.peers().some((p) => p.name === `name${i}`); k++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      ch.close();
    }
    assert.ok(a.peers().length <= MAX_STRANGERS, `${a.peers().length} first contacts held`);
    // A real node dials in and names an address of its choosing in its hello: alice keeps none.
    const up = waitFor(a, (e) => e.type === "presence" && e.online && e.user === "carol");
    await squatter.connect(`127.0.0.1:${a.port}`);
    await up;
    assert.equal(a.peers().find((p) => p.name === "carol")?.addr, undefined, "no address from a stranger");
    await a.close();
    a = await start();
    assert.deepEqual(a.peers().map((p) => p.name), [], "nothing was kept after the restart");
  } finally {
    await Promise.all([a.close(), squatter.close()]);
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("peer node: its engine's tick deletes a disappearing message once its time is up", async () => {
  const clock = new ManualClock(1_000_000);
  const a = await testNode("alice", { clock });
  try {
    const m = {
      seq: a.store.nextSeq(),
      mid: "0123456789abcdef0123456789abcdef",
      ts: clock.now(),
      from: "bob",
      to: { kind: "user" as const, name: "alice" },
      text: "gone in a minute",
      expires: clock.now() + 60_000,
    };
    a.store.local.insert([m], false);
    const gone = waitFor(a, (e) => e.type === "messages.expired" && e.mids.includes(m.mid), 5_000);
    clock.advance(61_000);
    await gone;
    assert.equal(a.store.local.byMid("bob", m.mid), undefined);
  } finally {
    await a.close();
  }
});

Deno.test("peer node: a message its core could not open is not acknowledged (core/receiving.ts: its receiver rejects, HeldBack), so the peer writes it again", async () => {
  const a = await node("alice");
  const b = await node("bob");
  try {
    const up = waitFor(a, (e) => e.type === "presence" && e.online);
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    await up;
    const ch = a.channel("bob")!;
    const body = crypto.getRandomValues(new Uint8Array(120)); // no ratchet opens it
    await assert.rejects(a.link.arrived("bob", ch, { mid: "c".repeat(32), ts: Date.now(), body }), HeldBack);
    assert.equal(a.store.local.byMid("bob", "c".repeat(32)), undefined, "nothing saved");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
