/**
 * The shared `ChatBackend` conformance suite (rule 8): what the interface promises, run against
 * every implementation — the conversation core `ChatClient` on a real in-process server
 * (tests/backend_conformance_test.ts) and `FakeBackend` (lib/client/tui/fake_backend_test.ts), so
 * the TUI's tests cannot rely on something no real backend does; `ChatClient` over a peer node's session (two peer nodes
 * joins them. The core cases run against every backend; each capability it declares (backend.ts
 * `Capabilities`) runs its own cases (backend_conformance_caps.ts), and it must offer exactly those.
 * `offered` names the capabilities an object offers; a stand-in must not offer one the real backend lacks.
 */
import assert from "node:assert/strict";
import { CAPABILITIES, type CapabilityName, type ChatBackend, CORE_MEMBERS, type Target } from "./backend.ts";
import { CAPABILITY_CASES } from "./backend_conformance_caps.ts";
import { type BackendHarness, sendStored, waitForEvent } from "./backend_conformance_kit.ts";

export type { BackendHarness };

/** The capabilities `b` offers, in the order of `Capabilities`. */
export function offered(b: ChatBackend): CapabilityName[] {
  return CAPABILITIES.filter((c) => b[c] !== undefined);
}

/** The cases every backend passes, whatever its capabilities. */
const CORE_CASES: [string, (h: BackendHarness) => Promise<void>][] = [
  ["answers every member of the core", async ({ backend }) => {
    const missing = CORE_MEMBERS.filter((m) => backend[m] === undefined);
    assert.deepEqual(missing, []);
    await Promise.resolve();
  }],

  ["names the user, the server and a role", async ({ backend }) => {
    assert.match(backend.user, /^[a-z0-9][a-z0-9_.-]*$/);
    assert.match(backend.server, /:\d+$/);
    assert.equal(backend.role, "user");
    await Promise.resolve();
  }],

  ["send answers the stored message, and history of that conversation holds it", async (h) => {
    const to: Target = { kind: "user", name: h.peer };
    const m = await sendStored(h.backend, to, "conformance hello");
    assert.equal(m.from, h.backend.user);
    assert.deepEqual(m.to, to);
    assert.equal(m.text, "conformance hello");
    assert.ok(Number.isInteger(m.seq) && m.seq > 0, `seq ${m.seq}`);
    assert.ok(Number.isFinite(m.ts) && m.ts > 0, `ts ${m.ts}`);
    const m2 = await sendStored(h.backend, to, "conformance again");
    assert.ok(m2.seq > m.seq, "seq grows");
    const hist = await h.backend.history(to);
    const texts = hist.map((x) => x.text);
    assert.ok(texts.indexOf("conformance hello") >= 0, JSON.stringify(texts));
    assert.ok(texts.indexOf("conformance hello") < texts.indexOf("conformance again"), "oldest first");
    assert.deepEqual(await h.backend.history(to, m2.ts + 60_000), [], "nothing after a later time");
  }],

  ["whois of an unregistered name is refused with code no_such_user", async (h) => {
    await assert.rejects(
      h.backend.whois("nobody-conformance"),
      (e: { code?: string }) => e.code === "no_such_user",
    );
  }],

  ["a message from the peer arrives as one event; after unsubscribing none do", async (h) => {
    const got: string[] = [];
    const off = h.backend.on((e) => {
      if (e.type === "message") got.push(`${e.message.from}>${e.message.to.kind}:${e.message.text}`);
    });
    const arrived = waitForEvent(
      h.backend,
      (e) => e.type === "message" && e.message.text === "conformance ping" || undefined,
      5000,
    );
    await h.peerSends("conformance ping");
    await arrived;
    const want = `${h.peer}>user:conformance ping`;
    assert.deepEqual(got, [want]);
    off();
    // A second listener sees the next message; the unsubscribed one must not.
    const seen = waitForEvent(
      h.backend,
      (e) => e.type === "message" && e.message.text === "after unsubscribe" || undefined,
      5000,
    );
    await h.peerSends("after unsubscribe");
    assert.ok(await seen, "the second listener got the message");
    assert.deepEqual(got, [want], "no event after unsubscribe");
  }],

  ["setStatus resolves for busy and free", async (h) => {
    await h.backend.setStatus("busy");
    await h.backend.setStatus("free");
  }],
];

/** Registers the suite's cases as Deno tests named `ChatBackend conformance (NAME): …`. */
export function backendConformance(
  name: string,
  make: () => Promise<BackendHarness>,
  capabilities: readonly CapabilityName[],
): void {
  const test = (what: string, fn: (h: BackendHarness) => Promise<void>) =>
    Deno.test(`ChatBackend conformance (${name}): ${what}`, async () => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.done();
      }
    });

  test("offers exactly the capabilities it declares", async ({ backend }) => {
    assert.deepEqual(offered(backend), CAPABILITIES.filter((c) => capabilities.includes(c)));
    await Promise.resolve();
  });
  for (const [what, fn] of CORE_CASES) test(what, fn);
  for (const cap of capabilities) {
    for (const [what, fn] of CAPABILITY_CASES[cap]) test(`${cap}: ${what}`, fn);
  }
}
