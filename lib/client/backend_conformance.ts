/**
 * The shared `ChatBackend` conformance suite (rule 8): what the interface promises, run against
 * every implementation — the conversation core `ChatClient` on a real in-process server
 * (tests/backend_conformance_test.ts) and `FakeBackend` (lib/client/tui/fake_backend_test.ts), so
 * the TUI's tests cannot rely on something no real backend does; `PeerBackend` over two peer nodes
 * joins them. The core cases run against every backend; each capability it declares (`rooms`,
 * `moderation`, `files`, `video`, `peers`, `blocks`, `changes`) runs its own cases (backend_conformance_caps.ts), and it
 * must offer exactly those. `optionalMembers` names the optional members an object offers, from
 * `OPTIONAL_MEMBERS` (here), which the compiler checks against the type; a stand-in must not
 * offer one the real backend lacks.
 */
import assert from "node:assert/strict";
import {
  type BackendEvent,
  CAPABILITIES,
  type CapabilityName,
  type ChatBackend,
  type ChatMessage,
  type Target,
} from "./backend.ts";
import { CAPABILITY_CASES } from "./backend_conformance_caps.ts";

export interface BackendHarness {
  /** Logged in as a user with role "user". */
  backend: ChatBackend;
  /** Another registered user (peer mode: a connected peer) the backend may message and put in rooms. */
  peer: string;
  /** Makes the peer send a direct message to the backend's user. */
  peerSends(text: string): Promise<void>;
  done(): Promise<void>;
}

/** Keys of `T` whose members are optional. */
export type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/**
 * Every optional member of `ChatBackend`, once: the compiler refuses this table when it misses a
 * member the type declares optional or names one it does not (so the list is the type's own).
 */
const OPTIONAL: { [K in OptionalKeys<ChatBackend>]: true } = {
  rooms: true,
  moderation: true,
  files: true,
  video: true,
  peers: true,
  blocks: true,
  changes: true,
  watch: true,
  feed: true,
  outbox: true,
  info: true,
  reconnectNow: true,
  users: true,
  inbox: true,
  typing: true,
  trust: true,
  search: true,
  mutes: true,
  highlights: true,
  bufferOrder: true,
  away: true,
  historyPage: true,
  devices: true,
};
/** The optional members of `ChatBackend`, derived from the type (see `OPTIONAL`). */
export const OPTIONAL_MEMBERS = Object.keys(OPTIONAL) as OptionalKeys<ChatBackend>[];

/** The optional members `b` offers (a method or a capability object). */
export function optionalMembers(b: ChatBackend): string[] {
  return OPTIONAL_MEMBERS.filter((m) => (b as unknown as Record<string, unknown>)[m] !== undefined);
}

/** Waits until `pick` answers something for an event of `b`, or fails after `ms`. */
export function waitForEvent<T>(
  b: ChatBackend,
  pick: (e: BackendEvent) => T | undefined,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`no such event within ${ms} ms`))), ms);
    const off = b.on((e) => {
      const v = pick(e);
      if (v !== undefined) (clearTimeout(timer), off(), resolve(v));
    });
  });
}

/** Sends and answers the stored message: at once (seq > 0), or the event that follows a pending one. */
export async function sendStored(b: ChatBackend, to: Target, text: string): Promise<ChatMessage> {
  const early: ChatMessage[] = [];
  const off = b.on((e) => void (e.type === "message" && e.message.seq > 0 && early.push(e.message)));
  try {
    const m = await b.send(to, text);
    if (m.seq > 0) return m;
    const got = early.find((x) => x.mid === m.mid);
    if (got) return got;
    return await waitForEvent(
      b,
      (e) => e.type === "message" && e.message.mid === m.mid && e.message.seq > 0 ? e.message : undefined,
    );
  } finally {
    off();
  }
}

/** The cases every backend passes, whatever its capabilities. */
const CORE_CASES: [string, (h: BackendHarness) => Promise<void>][] = [
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

  [
    "mutes (where offered): a conversation muted is listed as lists name it, until it is unmuted",
    async (h) => {
      const m = h.backend.mutes;
      if (!m) return;
      assert.deepEqual(await m.set("#Dev", true), ["#dev"]);
      assert.deepEqual(await m.set(`@${h.peer.toUpperCase()}`, true), ["#dev", h.peer].sort());
      assert.deepEqual(await m.set(h.peer, true), ["#dev", h.peer].sort(), "muted twice: listed once");
      await assert.rejects(m.set("#", true), (e: { code?: string }) => e.code === "usage");
      assert.deepEqual(await m.set("#dev", false), [h.peer]);
      assert.deepEqual(await m.list(), [h.peer]);
    },
  ],

  [
    "bufferOrder (where offered): reads back the order last saved",
    async (h) => {
      const o = h.backend.bufferOrder;
      if (!o) return;
      await o.save(["@kofi", "#proj"]);
      assert.deepEqual(await o.list(), ["@kofi", "#proj"]);
      await o.save(["#proj"]);
      assert.deepEqual(await o.list(), ["#proj"]);
    },
  ],

  [
    "highlights (where offered): a word added is listed as kept (lower case, trimmed), until it is removed",
    async (h) => {
      const w = h.backend.highlights;
      if (!w) return;
      assert.deepEqual(await w.set("  Deploy ", true), ["deploy"]);
      assert.deepEqual(await w.set("release  train", true), ["deploy", "release train"]);
      assert.deepEqual(await w.set("DEPLOY", true), ["deploy", "release train"], "added twice: listed once");
      await assert.rejects(w.set("   ", true), (e: { code?: string }) => e.code === "usage");
      assert.deepEqual(await w.set("Deploy", false), ["release train"]);
      assert.deepEqual(await w.list(), ["release train"]);
    },
  ],

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
    const offered = CAPABILITIES.filter((c) => backend[c] !== undefined);
    assert.deepEqual(offered, CAPABILITIES.filter((c) => capabilities.includes(c)));
    await Promise.resolve();
  });
  for (const [what, fn] of CORE_CASES) test(what, fn);
  for (const cap of capabilities) {
    for (const [what, fn] of CAPABILITY_CASES[cap]) test(`${cap}: ${what}`, fn);
  }
}
