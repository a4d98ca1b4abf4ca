/**
 * Fuzzing what arrives from the network (issue 10 item 17): for arbitrary input, each parser
 * either returns a well-formed value or throws its one documented error type with a message —
 * never a TypeError, RangeError or a crash. Covers the server's `parseHeader`/`parseInbound`,
 * the client's handling of server frames (`pushEvent`, `kickedEntries`), `decodePayload`, the
 * DM and room envelopes, and signed membership records.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "../../common/clock.ts";
import { utf8 } from "../../common/bytes.ts";
import { parseHeader } from "../../protocol/frame.ts";
import { parseInbound } from "../../protocol/messages.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { DmManager, KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { ensureDeviceKeys } from "../../crypto/keystore.ts";
import { verifyMembershipChange } from "../../crypto/membership.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { ReplayError, TooFarAheadError } from "../../crypto/ratchet.ts";
import { RoomManager } from "../../crypto/room_manager.ts";
import { parseSessionMessage } from "../../crypto/session.ts";
import { parseRoomMessage } from "../../crypto/sender_keys.ts";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { BackendError } from "../backend.ts";
import { decodePayload, encodePayload } from "../e2e/mod.ts";
import { kickedEntries, pushEvent, pushEvents } from "../session/wire_events.ts";

const RUNS = { numRuns: 400 };

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

/** Runs `f`; a throw must be one of `types` with a non-empty message. */
function only(types: (new (...a: never[]) => Error)[], f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(
      types.some((t) => e instanceof t),
      `unexpected ${e instanceof Error ? e.name : typeof e}: ${e}`,
    );
    assert.ok((e as Error).message.length > 0);
  }
}

async function onlyAsync(types: (new (...a: never[]) => Error)[], f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    assert.ok(
      types.some((t) => e instanceof t),
      `unexpected ${e instanceof Error ? e.name : typeof e}: ${e}`,
    );
    assert.ok((e as Error).message.length > 0);
  }
}

/** JSON objects shaped like frames: a known `t` (or `kind`) plus arbitrary fields. */
const frameLike = (ts: string[]) =>
  fc.tuple(fc.constantFrom(...ts), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })))
    .map(([t, rest]) => ({ ...rest, t }));

Deno.test("fuzz: parseHeader and parseInbound throw only ProtocolError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => only([ProtocolError], () => parseHeader(b))),
    RUNS,
  );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.string()), (j) => {
      const text = typeof j === "string" ? j : JSON.stringify(j) ?? "null";
      only([ProtocolError], () => parseHeader(utf8.encode(text)));
    }),
    RUNS,
  );
  const kinds = [
    "send",
    "room.create",
    "room.invite",
    "room.leave",
    "room.kick",
    "keys.publish",
    "ack",
    "pong",
    "x",
  ];
  fc.assert(
    fc.property(
      fc.oneof(frameLike(kinds), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))),
      (h) => only([ProtocolError], () => parseInbound(h as Record<string, unknown>)),
    ),
    RUNS,
  );
});

Deno.test("fuzz: pushEvent gives a well-typed event or null for any server frame", () => {
  const batches = fc.record({
    t: fc.constant("presences"),
    at: fc.jsonValue({ maxDepth: 1 }), // the short form's (and anything else there)
    on: fc.array(
      fc.oneof(fc.tuple(fc.string(), fc.string(), fc.integer()), fc.string(), fc.jsonValue({ maxDepth: 1 })),
      { maxLength: 5 },
    ),
    off: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }),
  });
  fc.assert(
    fc.property(
      fc.oneof(frameLike(["presence", "room", "notice", "bye", "msg", "ping", "zzz"]), batches),
      (h) => {
        const single = h.t === "presences" ? null : pushEvent(h);
        for (const e of pushEvents(h)) check(e);
        if (single !== null) check(single);
      },
    ),
    RUNS,
  );
  function check(e: NonNullable<ReturnType<typeof pushEvent>>): void {
    {
      if (e.type === "room") {
        assert.equal(typeof e.room.name, "string");
        assert.ok(Array.isArray(e.room.members) && e.room.members.every((m) => typeof m === "string"));
        assert.ok(Array.isArray(e.room.admins) && e.room.admins.every((m) => typeof m === "string"));
        assert.ok(e.by === undefined || typeof e.by === "string");
      } else if (e.type === "notice") {
        assert.equal(typeof e.text, "string");
        assert.ok(["info", "warn", "error"].includes(e.level));
      } else if (e.type === "presence") {
        assert.equal(typeof e.user, "string");
        assert.equal(typeof e.online, "boolean");
      }
    }
  }
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (raw) => {
      only([BackendError], () => {
        for (const k of kickedEntries(raw)) {
          assert.equal(typeof k.user, "string");
          assert.equal(typeof k.at, "number");
        }
      });
    }),
    RUNS,
  );
});

Deno.test("fuzz: decodePayload throws only SyntaxError", () => {
  const payloadLike = fc.record({
    v: fc.constantFrom(1, 2, "1"),
    k: fc.constantFrom("text", "skd", "x"),
    mid: fc.constantFrom("m1", "m2"),
    text: fc.anything(),
    dist: fc.anything(),
  }, { requiredKeys: [] });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 100 }),
        payloadLike.map((p) => utf8.encode(JSON.stringify(p) ?? "")),
        fc.jsonValue({ maxDepth: 2 }).map((j) => utf8.encode(JSON.stringify(j) ?? "null")),
      ),
      (b) => only([SyntaxError], () => decodePayload(b, "m1")),
    ),
    RUNS,
  );
  assert.equal(decodePayload(encodePayload({ v: 1, k: "text", mid: "m1", text: "hi" }), "m1").k, "text");
});

Deno.test("fuzz: DM and room envelopes throw only their documented errors", async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      only([SyntaxError], () => parseSessionMessage(b));
      only([SyntaxError], () => parseRoomMessage(b));
    }),
    RUNS,
  );
  const clock = new ManualClock();
  const store = new MemoryCryptoStore();
  await ensureDeviceKeys(store, clock.now(), 2);
  const dm = new DmManager({ store, me: "bob", clock });
  const rooms = new RoomManager({ store, me: "bob", clock });
  // bob holds alice's chain of room "r", so room envelopes get past "no sender key" to parsing
  const alice = new RoomManager({ store: new MemoryCryptoStore(), me: "alice", clock });
  const plan = await alice.planSend("r", ["alice", "bob"]);
  await store.commit(await rooms.acceptDistribution("alice", plan.dist));
  const real = await alice.encrypt("r", utf8.encode("hello"));
  const prefixed = fc.tuple(
    fc.constantFrom(1, 2, 3),
    fc.constantFrom(1, 2),
    fc.uint8Array({ maxLength: 400 }),
  )
    .map(([a, b, rest]) => Uint8Array.of(a, ...new Uint8Array(16), 1, b, ...rest));
  const dmErrors = [
    SyntaxError,
    DecryptError,
    ReplayError,
    NoSessionError,
    KeyChangedError,
    TooFarAheadError,
  ];
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), prefixed, mutate(real)), async (b) => {
      await onlyAsync(dmErrors, () => dm.openDm("alice", b));
      await onlyAsync(
        [SyntaxError, DecryptError, ReplayError, TooFarAheadError],
        () => rooms.open("r", "alice", b),
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("fuzz: signed membership records never throw", async () => {
  await fc.assert(
    fc.asyncProperty(fc.anything(), fc.array(fc.string(), { maxLength: 2 }), async (x, keys) => {
      assert.equal(await verifyMembershipChange(x as never, keys), false);
    }),
    { numRuns: 300 },
  );
});
