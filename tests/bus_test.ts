/**
 * The Bus conformance suite on MemoryBus and on NatsBus (a throwaway nats-server); the bus address:
 * user and password from the URL, tls://, never a password in a log line.
 */
import { connect } from "nats";
import { MemoryBusNet } from "../lib/server/bus/bus.ts";
import { busConformance } from "../lib/server/bus/bus_conformance.ts";
import { NatsBus, parseBusUrl, redactBusUrl } from "../lib/server/bus/nats_bus.ts";
import assert from "node:assert/strict";
import { createCipheriv, hkdfSync } from "node:crypto";
import { BusSeal } from "../lib/server/bus/seal.ts";
import { encodeRows, ROUTED_FORMAT } from "../lib/server/bus/bus_rows.ts";
import { memoryLogger } from "../lib/common/logger.ts";
import { systemClock } from "../lib/common/clock.ts";
import { clusterSkip, startNats, type TestNats } from "./cluster_harness.ts";

busConformance("MemoryBus", (keys) => {
  const net = new MemoryBusNet();
  return Promise.resolve({
    // Names long enough not to turn up by chance in the ciphertext the "no names in clear" case reads
    // ("m0" did, about once in a hundred runs).
    buses: keys.map((key, i) => net.join(`memory-node-${i}`, { key })),
    scope: "memory",
    inject: (wire) => Promise.resolve(net.inject(wire)),
    tap: (fn) => Promise.resolve(net.tap(fn)),
    close: () => Promise.resolve(),
  });
});

let nats: Promise<TestNats> | null = null;
let k = 0;
busConformance("NatsBus", async (keys) => {
  const s = await (nats ??= startNats());
  const subject = `parley.test${++k}`;
  const buses = await Promise.all(
    keys.map((key, i) => NatsBus.open(s.url, `nats-node-${k}.${i}`, { key, subject })),
  );
  const outsider = await connect({ servers: s.url.replace(/^nats:\/\//, "") });
  return {
    buses,
    scope: subject,
    inject: async (wire) => {
      outsider.publish(subject, wire);
      await outsider.flush();
    },
    tap: async (fn) => {
      const sub = outsider.subscribe(subject);
      (async () => {
        for await (const m of sub) fn(m.data);
      })();
      await outsider.flush();
    },
    close: () => outsider.close(),
  };
}, { ignore: clusterSkip !== null });

// The throwaway nats-server stops after the file's tests, also after a failure or a --filter.
Deno.test.afterAll(async () => {
  if (nats) await (await nats).stop();
});

Deno.test("bus URL: servers, user and password (decoded), tls:// requires TLS; the password never shows", () => {
  assert.deepEqual(parseBusUrl("nats://parley:p%40ss@10.0.0.1:4222, nats://parley:p%40ss@10.0.0.2"), {
    servers: ["10.0.0.1:4222", "10.0.0.2:4222"],
    user: "parley",
    pass: "p@ss",
    tls: false,
  });
  assert.deepEqual(parseBusUrl("tls://nats.example:4443"), { servers: ["nats.example:4443"], tls: true });
  assert.throws(() => parseBusUrl("http://x:1"), /nats:\/\/ or tls:\/\//);
  assert.equal(
    redactBusUrl("nats://parley:secret@a:4222,nats://parley:secret@b:4222"),
    "nats://parley:***@a:4222,nats://parley:***@b:4222",
  );
  assert.equal(redactBusUrl("nats://a:4222"), "nats://a:4222");
  assert.equal(redactBusUrl("nats://u:p@ss@a:4222"), "nats://u:***@a:4222", "an unencoded @ in the password");
});

/** An envelope sealed by hand around `plain` (seal.ts's layout), as a key holder with a bug would send it. */
function sealRaw(key: Uint8Array, scope: string, plain: Uint8Array): Uint8Array {
  const id = crypto.getRandomValues(new Uint8Array(16));
  const head = new Uint8Array(25);
  head[0] = 1;
  head.set(id, 1);
  new DataView(head.buffer).setBigUint64(17, 1n);
  const k = new Uint8Array(
    hkdfSync("sha256", key, id, new TextEncoder().encode(`parley bus v1 ${scope}`), 32),
  );
  const nonce = new Uint8Array(12);
  nonce.set(head.subarray(17), 4);
  const c = createCipheriv("chacha20-poly1305", k, nonce, { authTagLength: 16 });
  c.setAAD(head, { plaintextLength: plain.length });
  const body = c.update(plain);
  c.final();
  return new Uint8Array([...head, ...body, ...c.getAuthTag()]);
}

Deno.test("BusSeal: bad UTF-8 inside a sealed envelope is refused; a real U+FFFD in an event opens", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const seal = new BusSeal({ key }, "s");
  const text = (user: string) =>
    new TextEncoder().encode(JSON.stringify({ from: "n1", ts: Date.now(), e: { t: "user", user } }));
  const bad = text("ab");
  bad[bad.indexOf(0x62)] = 0xff; // "b" made a byte that is never UTF-8
  assert.equal(seal.open(sealRaw(key, "s", bad)), null);
  assert.equal(seal.refused.get("not JSON"), 1);
  assert.deepEqual(seal.open(sealRaw(key, "s", text("a\uFFFD")))?.e, { t: "user", user: "a\uFFFD" });
});

Deno.test("BusSeal: a msg event's rows travel binary (bus protocol 3) and open as sealed; a later format, or broken rows, are refused by name", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const { logger: log, lines: logged } = memoryLogger(systemClock);
  const a = new BusSeal({ key }, "s"), b = new BusSeal({ key, log }, "s");
  const packed = [1, 2].map((i) => ({
    seq: i,
    mid: `m${i}`,
    sender: "alice",
    kind: "user" as const,
    target: "bob",
    conv: "d:alice:bob",
    ts: 5,
    body: new Uint8Array([i, 0x7b, 0]),
  }));
  const wire = a.seal("n1", { t: "msg", seq: 2, packed });
  const body = new TextDecoder().decode(wire);
  assert.ok(!body.includes('"t"'), "no JSON inside");
  const got = b.open(wire);
  assert.equal(got?.from, "n1");
  assert.deepEqual(
    got?.e.t === "msg" && got.e.packed?.map((r) => ({ ...r, body: [...r.body] })),
    packed.map((r) => ({ ...r, body: [...r.body] })),
  );
  // A newer node's format: refused, and the log line says what to do.
  const rows = encodeRows({ from: "n2", ts: Date.now(), seq: 1, rows: packed });
  assert.equal(b.open(sealRaw(key, "s", Uint8Array.of(ROUTED_FORMAT + 1, ...rows.subarray(1)))), null);
  assert.equal(b.open(sealRaw(key, "s", rows.subarray(0, rows.length - 1))), null);
  assert.deepEqual([...b.refused], [
    ["an envelope format of a newer version: upgrade this node", 1],
    ["bad rows: truncated", 1],
  ]);
  assert.match(logged.join("\n"), /bus\.refused.*newer version: upgrade this node/);
});
