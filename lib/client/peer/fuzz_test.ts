/**
 * Fuzzing the peer-mode decoders (SECURITY.md item 20, issue 33): for random and mutated input each
 * returns a well-formed value or throws its one documented error — `decodePeerRecord` SyntaxError,
 * the peer handshake HandshakeError, a channel's records DecryptError, the file offer and candidate
 * (files/offer.ts) SyntaxError — and never hangs (every asynchronous check runs under a time limit).
 * Last, random bytes sent to a real peer listener end only their own connection.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { toBase64, utf8 } from "../../common/bytes.ts";
import { generateIdentity, publicIdentity } from "../../crypto/identity.ts";
import { HandshakeError, initiateHandshake, respondHandshake } from "../../crypto/peer_handshake.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { dialPeer, listenPeer, PEER_PURPOSE } from "../../net/peer_net.ts";
import { decodeFileOffer, decodeFileReady, encodeFileOffer, encodeFileReady } from "../files/offer.ts";
import { decodePeerRecord, encodePeerRecord, type PeerWireRecord } from "./wire.ts";

const RUNS = { numRuns: 300 };
/** An asynchronous check slower than this fails the run: a decoder must never hang. */
const ASYNC = { numRuns: 150, timeout: 5000 };

/** Copies of `b` with a few bytes changed, cut or extended. */
const mutate = (b: Uint8Array) =>
  fc.tuple(fc.array(fc.tuple(fc.nat(b.length - 1), fc.nat(255)), { maxLength: 4 }), fc.nat(b.length + 8)).map(
    ([edits, len]) => {
      const c = new Uint8Array(len);
      c.set(b.subarray(0, len));
      for (const [i, v] of edits) if (i < len) c[i] = v;
      return c;
    },
  );

/** A throw must be one of `types` with a message (a property returning normally is fine). */
function expectOnly(types: (new (...a: never[]) => Error)[], e: unknown): void {
  assert.ok(types.some((t) => e instanceof t), `unexpected ${e instanceof Error ? e.name : typeof e}: ${e}`);
  assert.ok((e as Error).message.length > 0);
}
function only(types: (new (...a: never[]) => Error)[], f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expectOnly(types, e);
  }
}
async function onlyAsync(types: (new (...a: never[]) => Error)[], f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    expectOnly(types, e);
  }
}

const alice = await generateIdentity();
const bob = await generateIdentity();
const pub = publicIdentity(alice);
const b64 = (n: number) => toBase64(new Uint8Array(n).fill(7));
const fid = "f1234567abcd";
const valid: PeerWireRecord[] = [
  { t: "hello", listen: ":9000", bundle: { identity: pub, spk: { id: 1, pub: b64(32), sig: b64(64) } } },
  { t: "msg", mid: "0".repeat(32), ts: 1, env: b64(90) },
  { t: "ack", mid: "a".repeat(32) },
  { t: "typing", active: true },
  { t: "ping" },
  { t: "who" },
  { t: "intro", peers: [{ name: "carol", addr: "10.0.0.1:9000", identity: pub }] },
  { t: "foffer", fid, name: "a.txt", size: 5, sha256: "f".repeat(64), key: b64(32), hdr: b64(56) },
  { t: "fget", fid, from: 0 },
  { t: "fdata", fid, i: 0, n: 100 },
  { t: "fend", fid, ok: false, why: "no" },
];
const KINDS = [...new Set(valid.map((r) => r.t))];

/** JSON objects shaped like records: a known `t` plus arbitrary fields, or a valid one with one field replaced. */
const recordLike = fc.oneof(
  fc.tuple(
    fc.constantFrom(...KINDS),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
  )
    .map(([t, rest]) => ({ ...rest, t })),
  fc.tuple(fc.constantFrom(...valid), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([r, k, v]) => ({ ...r, [k === "t" ? "x" : k]: v })),
);

Deno.test("peer fuzz: decodePeerRecord throws only SyntaxError, and what it accepts encodes back the same", () => {
  for (const r of valid) assert.deepEqual(decodePeerRecord(encodePeerRecord(r)), r, r.t);
  const check = (b: Uint8Array) =>
    only([SyntaxError], () => {
      const r = decodePeerRecord(b);
      assert.deepEqual(decodePeerRecord(encodePeerRecord(r)), r);
    });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), RUNS);
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (j) => check(utf8.encode(JSON.stringify(j) ?? "null"))),
    RUNS,
  );
  fc.assert(fc.property(recordLike, (j) => check(utf8.encode(JSON.stringify(j)))), RUNS);
  for (const r of valid) fc.assert(fc.property(mutate(encodePeerRecord(r)), check), { numRuns: 60 });
  // Deep nesting and a huge array: refused, not a stack overflow.
  check(utf8.encode("[".repeat(100_000) + "]".repeat(100_000)));
  check(utf8.encode(JSON.stringify({ t: "intro", peers: Array(100_000).fill(0) })));
});

Deno.test("peer fuzz: the file offer and the direct-path candidate throw only SyntaxError", () => {
  const mid = "m".repeat(24);
  const offer = encodeFileOffer(mid, { fid, name: "x.bin", size: 9, key: new Uint8Array(32), sha256: "" });
  const ready = encodeFileReady(mid, { fid, host: "127.0.0.1", port: 9000, token: b64(32) });
  assert.ok(decodeFileOffer(offer, mid));
  assert.ok(decodeFileReady(ready, mid));
  const check = (b: Uint8Array) => {
    only([SyntaxError], () => decodeFileOffer(b, mid));
    only([SyntaxError], () => decodeFileReady(b, mid));
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), RUNS);
  fc.assert(fc.property(mutate(offer), check), RUNS);
  fc.assert(fc.property(mutate(ready), check), RUNS);
  fc.assert(
    fc.property(
      fc.tuple(
        fc.constantFrom("file", "file-ready"),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
      ),
      ([k, rest]) => check(utf8.encode(JSON.stringify({ v: 1, mid, fid, ...rest, k }))),
    ),
    RUNS,
  );
});

Deno.test("peer fuzz: every handshake step throws only HandshakeError, and records only DecryptError", async () => {
  const opts = { identity: bob, name: "bob", purposes: [PEER_PURPOSE] };
  // A real run, to mutate each message of it.
  const ini = await initiateHandshake({ identity: alice, name: "alice", purpose: PEER_PURPOSE });
  const res = await respondHandshake(opts, ini.hello);
  const fin = await ini.finish(res.reply);
  const record = await fin.channel.seal(utf8.encode("hello there"));
  const hs = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
  const anyBytes = (i: number) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }).map((b) => new Uint8Array([...hs[i]!, ...b])), // the right type byte
    );

  // Message 1 at the responder.
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(anyBytes(0), mutate(ini.hello)),
      (b) => onlyAsync([HandshakeError], () => respondHandshake(opts, b)),
    ),
    ASYNC,
  );
  // Message 2 at the initiator (a fresh initiator each time: finish may run once per hello).
  await fc.assert(
    fc.asyncProperty(fc.oneof(anyBytes(1), mutate(res.reply)), async (b) => {
      const i = await initiateHandshake({ identity: alice, purpose: PEER_PURPOSE });
      await onlyAsync([HandshakeError], () => i.finish(b));
    }),
    ASYNC,
  );
  // Message 3 at the responder: only the real one opens a channel.
  await fc.assert(
    fc.asyncProperty(fc.oneof(anyBytes(2), mutate(fin.message)), async (b) => {
      const r = await respondHandshake(opts, ini.hello);
      await onlyAsync([HandshakeError], () => r.finish(b));
    }),
    ASYNC,
  );
  // Records on an open channel: a byte changed, cut or extended never opens (a fresh pair each run).
  const edits = fc.tuple(
    fc.array(fc.tuple(fc.nat(record.length - 1), fc.nat(255)), { maxLength: 4 }),
    fc.nat(record.length + 8),
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 100 }), edits), async (x) => {
      const i = await initiateHandshake({ identity: alice, purpose: PEER_PURPOSE });
      const r = await respondHandshake(opts, i.hello);
      const f = await i.finish(r.reply);
      const ch = await r.finish(f.message);
      const real = await f.channel.seal(utf8.encode("hello there"));
      let b: Uint8Array;
      if (x instanceof Uint8Array) b = x;
      else {
        b = new Uint8Array(x[1]);
        b.set(real.subarray(0, x[1]));
        for (const [at, v] of x[0]) if (at < b.length) b[at] = v;
      }
      const same = b.length === real.length && b.every((v, k) => v === real[k]);
      if (same) assert.deepEqual(await ch.open(b), utf8.encode("hello there"));
      else await assert.rejects(ch.open(b), (e) => (expectOnly([DecryptError], e), true));
    }),
    ASYNC,
  );
});

Deno.test("peer fuzz: random bytes sent to a peer listener end only their own connection", async () => {
  const ln = listenPeer(
    { hostname: "127.0.0.1", port: 0, identity: bob, handshakeMs: 2000, acceptPerSec: 0, perAddress: 64 },
    () => {},
  );
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 3 }),
        async (parts) => {
          const c = await Deno.connect({ hostname: "127.0.0.1", port: ln.port });
          try {
            for (const p of parts) await c.write(p).catch(() => 0);
            // Closed by the listener (bad input, or the handshake deadline): EOF or a reset, never a hang.
            const n = await c.read(new Uint8Array(4096)).catch(() => null);
            if (n !== null) assert.ok(n > 0); // a reply to something that parsed as a hello
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: 25, timeout: 5000 },
    );
    const ch = await dialPeer("127.0.0.1", ln.port, { identity: alice, handshakeMs: 3000 });
    ch.close();
  } finally {
    await ln.close();
  }
});
