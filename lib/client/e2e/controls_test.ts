/** The registry of control kinds and the one "devices changed → relearn → seal once more" loop. */
import assert from "node:assert/strict";
import { utf8, utf8d } from "../../common/bytes.ts";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { BackendError } from "../backend.ts";
import { sealAndSend } from "./body_codec.ts";
import { type ControlContext, ControlRegistry, payloadKind } from "./controls.ts";
import { type ControlSend, sendControl } from "./codec.ts";

const enc = (o: unknown) => utf8.encode(JSON.stringify(o));
const ctx: ControlContext = {
  from: "bob",
  mid: "m1",
  at: 0,
  cs: new MemoryCryptoStore(),
  verified: () => Promise.resolve(false),
};

function registry() {
  const got: string[] = [];
  const r = new ControlRegistry();
  r.register<{ n: number }>("ping", {
    decode: (b, mid) => {
      const p = JSON.parse(utf8d.decode(b));
      if (typeof p.n !== "number" || p.mid !== mid) throw new SyntaxError("Malformed ping");
      return { n: p.n };
    },
    onReceive: (v) => Promise.resolve({ after: () => got.push(`ping ${v.n}`) }),
  });
  r.register<string>("pong", {
    room: true,
    decode: () => "p",
    onReceive: (v) => Promise.resolve({ writes: { put: { pong: v }, del: [] } }),
  });
  return { r, got };
}

Deno.test("controls: a registered kind is looked up and handled; others are not control messages", async () => {
  const { r, got } = registry();
  const run = r.lookup(enc({ v: 1, k: "ping", mid: "m1", n: 7 }), "m1");
  assert.ok(run);
  (await run(ctx)).after?.();
  assert.deepEqual(got, ["ping 7"]);
  assert.deepEqual((await r.lookup(enc({ v: 1, k: "pong" }), "m1")!(ctx)).writes, {
    put: { pong: "p" },
    del: [],
  });
  assert.equal(r.lookup(enc({ v: 1, k: "text", mid: "m1", text: "hi" }), "m1"), null, "text is the codec's");
  assert.equal(r.lookup(enc({ v: 1, k: "unknown-kind" }), "m1"), null);
  for (const junk of ["", "[]", "null", '{"k":5}', "\u00ff\u00fe", "{"]) {
    assert.equal(r.lookup(utf8.encode(junk), "m1"), null, junk);
  }
});

Deno.test("controls: a malformed or replayed payload of a kind is refused by its decoder; other kinds still work", async () => {
  const { r, got } = registry();
  assert.throws(() => r.lookup(enc({ v: 1, k: "ping", mid: "m1", n: "x" }), "m1"), SyntaxError);
  assert.throws(() => r.lookup(enc({ v: 1, k: "ping", mid: "other", n: 1 }), "m1"), SyntaxError, "replayed");
  (await r.lookup(enc({ v: 1, k: "ping", mid: "m2", n: 2 }), "m2")!(ctx)).after?.();
  assert.deepEqual(got, ["ping 2"]);
});

Deno.test("controls: a kind registered twice, or a reserved or badly named kind, is a bug", () => {
  const { r } = registry();
  const h = { decode: () => 1, onReceive: () => Promise.resolve({}) };
  assert.throws(() => r.register("ping", h), /registered twice/);
  for (const k of ["text", "skd", "", "Bad", "a b", "x".repeat(40)]) {
    assert.throws(() => r.register(k, h), /cannot be/);
  }
  assert.equal(payloadKind(enc({ k: "ping" })), "ping");
  assert.equal(payloadKind(enc({ v: 1 })), null);
});

Deno.test("sealAndSend: devices changed → relearn once and seal again; a second change is an error, not a loop", async () => {
  const changed = () => new BackendError("devices_changed", "changed", undefined, { devices: ["bob/2"] });
  let seals = 0, relearned: unknown[] = [];
  const ok = await sealAndSend(
    () => Promise.resolve({ body: new Uint8Array([++seals]) }),
    (s) => s.body[0] === 1 ? Promise.reject(changed()) : Promise.resolve(`sent ${s.body[0]}`),
    (d) => (relearned.push(d), Promise.resolve()),
  );
  assert.equal(ok, "sent 2");
  assert.deepEqual(relearned, [["bob/2"]]);
  seals = 0, relearned = [];
  await assert.rejects(
    sealAndSend(
      () => Promise.resolve({ body: new Uint8Array([++seals]) }),
      () => Promise.reject(changed()),
      (d) => (relearned.push(d), Promise.resolve()),
    ),
    /changed/,
  );
  assert.equal(seals, 2, "sealed twice, then gave up");
  assert.equal(relearned.length, 1);
  // Another refusal is never a reason to relearn; nor is a change when the codec cannot relearn.
  await assert.rejects(
    sealAndSend(
      () => Promise.resolve({ body: new Uint8Array() }),
      () => Promise.reject(new Error("x")),
      () => {
        throw new Error("must not relearn");
      },
    ),
    /^Error: x$/,
  );
  await assert.rejects(
    sealAndSend(
      () => Promise.resolve({ body: new Uint8Array() }),
      () => Promise.reject(changed()),
      undefined,
    ),
    /changed/,
  );
});

Deno.test("controls: in a room message only the kinds that say `room` are control messages", async () => {
  const { r } = registry();
  assert.equal(r.lookup(enc({ v: 1, k: "ping", mid: "m1", n: 7 }), "m1", true), null, "a DM-only kind");
  const run = r.lookup(enc({ v: 1, k: "pong" }), "m1", true);
  assert.ok(run, "a kind that may come in a room");
  assert.deepEqual((await run({ ...ctx, room: "team" })).writes, { put: { pong: "p" }, del: [] });
});

Deno.test("controls: send checks the payload's kind, and a room gets only kinds registered as room", async () => {
  const { r } = registry();
  const p = { controls: r } as unknown as ControlSend;
  const sealed: string[] = [];
  // Stands for the folder's lock: records that the send got past its checks, then stops it there.
  const serial = <T>(_fn: () => Promise<T>): Promise<T> => {
    sealed.push("sealed");
    return Promise.reject(new Error("stop"));
  };
  const send = (to: { kind: "user" | "room"; name: string }, kind: string, k: string) =>
    sendControl({} as never, p, serial, to, kind, (mid) => enc({ v: 1, k, mid, n: 1 }));
  const bob = { kind: "user" as const, name: "bob" }, room = { kind: "room" as const, name: "ops" };
  await assert.rejects(send(bob, "ping", "pong"), /"ping" control was asked for, the payload is "pong"/);
  await assert.rejects(send(room, "ping", "ping"), /"ping" cannot go to a room/);
  assert.deepEqual(sealed, [], "refused before sealing");
  await assert.rejects(send(bob, "ping", "ping"), /stop/);
  await assert.rejects(send(room, "pong", "pong"), /stop/);
  assert.deepEqual(sealed, ["sealed", "sealed"]);
});

Deno.test("controls: a control to myself takes no lock when this process knows I have no other device", async () => {
  const { r } = registry();
  const cs = new MemoryCryptoStore();
  const { DeviceLists } = await import("./dm_seal.ts");
  const devices = new DeviceLists(() => Promise.reject(new Error("no server here")), cs, "alice", 1);
  const p = { controls: r, me: "alice", devices } as unknown as ControlSend;
  let locked = 0;
  const serial = <T>(_fn: () => Promise<T>): Promise<T> => (locked++, Promise.reject(new Error("stop")));
  const me = { kind: "user" as const, name: "alice" };
  const send = () =>
    sendControl({} as never, p, serial, me, "ping", (mid) => enc({ v: 1, k: "ping", mid, n: 1 }));
  await assert.rejects(send(), /stop/, "not known yet: under the lock, which reads the list");
  await devices.set("alice", [1]);
  await send();
  assert.equal(locked, 1, "only this device: nothing sent, no lock taken");
  await devices.set("alice", [1, 2]);
  await assert.rejects(send(), /stop/, "another device: sealed under the lock");
  assert.equal(locked, 2);
});
