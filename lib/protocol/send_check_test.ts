import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { ProtocolError } from "./errors.ts";
import { parseInbound, Requests } from "./messages.ts";
import { quickSend } from "./send_check.ts";

/** What the schema alone answers for `h`: its value, or that it refuses. */
function bySchema(h: Record<string, unknown>): unknown {
  const r = v.safeParse(Requests.send, h);
  return r.success ? { ok: r.output } : { refused: true };
}

/** What parseInbound answers: the value, or the stable code and text of its refusal. */
function answer(h: Record<string, unknown>): unknown {
  try {
    return { ok: parseInbound(h) };
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    return { code: e.code, msg: e.message, id: e.id };
  }
}

/**
 * `x` with every prototype-less object made an ordinary one: headers come from JSON.parse, and
 * quickSend answers the header itself (fast-check's records have no prototype).
 */
function asParsed<T>(x: T): T {
  if (Array.isArray(x)) return x.map(asParsed) as T;
  const proto = x !== null && typeof x === "object" ? Object.getPrototypeOf(x) : undefined;
  if (proto === null || proto === Object.prototype) {
    return Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, asParsed(v)])) as T;
  }
  return x;
}

const mids = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
  fc.constantFrom("short", "x".repeat(65), "has space1", "ünïcode12", "", "abcdefgh\n"),
  fc.string({ maxLength: 70 }),
);
const names = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constantFrom("", "n".repeat(65)));
const good = <T>(a: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: a }, bad);
const target = good(
  fc.oneof(
    fc.record({ kind: fc.constantFrom("user", "room"), name: names }),
    fc.constant({ kind: "broadcast" }),
  ),
  fc.oneof(
    fc.record({ kind: fc.constantFrom("user", "room", "broadcast", "other"), name: fc.anything() }),
    fc.record({ kind: fc.constant("user"), name: names, extra: fc.anything() }),
    fc.constant({ kind: "broadcast", name: "x" }),
    fc.anything(),
  ),
);
const device = good(fc.stringMatching(/^[^/\s]+(\/[1-9][0-9]{0,6})?$/), fc.anything());
const sendish = fc.record(
  {
    t: good(fc.constant("send"), fc.constantFrom("sync", 5)),
    id: good(fc.integer({ min: 0, max: 2 ** 31 }), fc.oneof(fc.double(), fc.integer(), fc.anything())),
    to: target,
    mid: good(mids, fc.anything()),
    devices: good(fc.array(device, { maxLength: 66 }), fc.anything()),
    ephemeral: good(fc.constant(true), fc.anything()),
    ttl: good(fc.integer({ min: 1, max: 366 * 86400 }), fc.oneof(fc.integer(), fc.double(), fc.anything())),
    other: fc.anything(),
  },
  { requiredKeys: [] },
);

Deno.test("quickSend accepts only what the send schema accepts, and answers what the schema answers", () => {
  let quick = 0, accepted = 0;
  fc.assert(
    fc.property(sendish.map(asParsed), (h) => {
      const q = quickSend(h);
      const s = bySchema(h);
      if ("ok" in (s as object)) accepted++;
      if (q) {
        quick++;
        assert.equal(q, h, "the header itself, not a copy");
        assert.deepEqual({ ok: q }, s);
      }
    }),
    { numRuns: 20_000 },
  );
  // Most well-formed sends take the quick path (else it would be there for nothing).
  assert.ok(quick > 0.9 * accepted, `${quick} of ${accepted}`);
});

/** The refusal messages.ts `parse` builds from the schema's first issue. */
function schemaRefusal(h: Record<string, unknown>, issue: v.BaseIssue<unknown>): unknown {
  const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
  const id = typeof h.id === "number" && Number.isInteger(h.id) ? h.id : undefined;
  return {
    code: "invalid",
    msg: `Invalid field ${path ? `"${path}"` : ""}: ${issue.message}`.slice(0, 200),
    id,
  };
}

Deno.test("parseInbound answers a send with or without quickSend alike: values, codes and texts", () => {
  fc.assert(
    fc.property(sendish.filter((h) => h.t === "send").map(asParsed), (h) => {
      const r = v.safeParse(Requests.send, h);
      assert.deepEqual(answer(h), r.success ? { ok: r.output } : schemaRefusal(h, r.issues[0]));
    }),
    { numRuns: 5000 },
  );
  // Refusals word for word as main (e6ab47e, valibot alone) gave them.
  const bob = { kind: "user", name: "bob" };
  const cases: [Record<string, unknown>, string][] = [
    [
      { t: "send", id: 3, to: { kind: "user", name: "" }, mid: "abcdefgh" },
      'Invalid field "to.name": Invalid length: Expected >=1 but received 0',
    ],
    [
      { t: "send", id: 4, to: bob, mid: "short" },
      'Invalid field "mid": Invalid format: Expected /^[A-Za-z0-9_-]{8,64}$/ but received "short"',
    ],
    [
      { t: "send", id: 5, to: bob, mid: "abcdefgh", ttl: 0 },
      'Invalid field "ttl": Invalid value: Expected >=1 but received 0',
    ],
    [
      { t: "send", id: 6, to: bob, mid: "abcdefgh", devices: ["a b"] },
      'Invalid field "devices.0": Invalid format: Expected /^[^/\\s]+(\\/[1-9][0-9]{0,6})?$/ but received "a b"',
    ],
  ];
  for (const [h, msg] of cases) assert.deepEqual(answer(h), { code: "invalid", msg, id: h.id });
});

Deno.test("the usual sends take the quick path", () => {
  const dm = {
    t: "send",
    id: 7,
    to: { kind: "user", name: "bob" },
    mid: "m-0123456789",
    devices: ["bob", "alice/2"],
  };
  assert.deepEqual(quickSend(dm), dm);
  const room = {
    t: "send",
    id: 8,
    to: { kind: "room", name: "dev" },
    mid: "abcdefgh",
    ttl: 60,
    ephemeral: true,
  };
  assert.deepEqual(quickSend(room), room);
  assert.deepEqual(quickSend({ t: "send", id: 9, to: { kind: "broadcast" }, mid: "abcdefgh" }), {
    t: "send",
    id: 9,
    to: { kind: "broadcast" },
    mid: "abcdefgh",
  });
});

Deno.test("quickSend and the schema agree at every bound", () => {
  const base = { t: "send", id: 1, to: { kind: "user", name: "bob" }, mid: "abcdefgh" };
  const cases: Record<string, unknown>[] = [
    ...[7, 8, 64, 65].map((n) => ({ ...base, mid: "m".repeat(n) })),
    ...[0, 1, 64, 65].map((n) => ({ ...base, to: { kind: "room", name: "r".repeat(n) } })),
    ...[-1, 0, 2 ** 31, 2 ** 31 + 1, 1.5].map((id) => ({ ...base, id })),
    ...[0, 1, 366 * 86400, 366 * 86400 + 1].map((ttl) => ({ ...base, ttl })),
    ...[0, 64, 65].map((n) => ({ ...base, devices: Array.from({ length: n }, (_, i) => `bob/${i + 1}`) })),
    ...["x".repeat(80), "x".repeat(81), "bob/0", "bob/1234567", "bob/12345678", "a/b/1"].map((d) => ({
      ...base,
      devices: [d],
    })),
    { ...base, ephemeral: false },
    { ...base, to: { kind: "broadcast", name: "x" } },
  ];
  for (const h of cases) {
    const r = v.safeParse(Requests.send, h);
    const q = quickSend(h);
    assert.deepEqual(q, r.success ? r.output : null, JSON.stringify(h).slice(0, 120));
  }
});
