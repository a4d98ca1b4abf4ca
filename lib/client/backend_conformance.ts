/**
 * The shared `ChatBackend` conformance suite (rule 8): what the interface promises, run against
 * every implementation — `LiveBackend` over `ChatClient` on a real in-process server
 * (tests/backend_conformance_test.ts) and `FakeBackend` (lib/client/tui/fake_backend_test.ts), so
 * the TUI's tests cannot rely on something no real backend does. `optionalMembers` lists the
 * optional members; an implementation used as a stand-in must not offer one the real one lacks.
 */
import assert from "node:assert/strict";
import { BackendError, type ChatBackend, type Target } from "./backend.ts";

export interface BackendHarness {
  /** Logged in as a user with role "user". */
  backend: ChatBackend;
  /** Another registered user the backend may message and put in rooms. */
  peer: string;
  /** Makes the peer send a direct message to the backend's user. */
  peerSends(text: string): Promise<void>;
  done(): Promise<void>;
}

/** The optional members of `ChatBackend` (keep in step with backend.ts). */
export const OPTIONAL_MEMBERS = [
  "join",
  "inbox",
  "outbox",
  "dropOutbox",
  "typing",
  "trust",
  "roomKick",
  "videos",
  "playVideo",
  "offerStream",
  "acceptStream",
  "refuseStream",
] as const;

/** The optional members `b` offers. */
export function optionalMembers(b: ChatBackend): string[] {
  return OPTIONAL_MEMBERS.filter((m) => typeof (b as unknown as Record<string, unknown>)[m] === "function");
}

async function refusedAsNonAdmin(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BackendError || (e instanceof Error && "code" in e), `${what}: ${e}`);
    assert.equal((e as { code: string }).code, "forbidden", what);
    return true;
  });
}

/** Registers the suite's cases as Deno tests named `ChatBackend conformance (NAME): …`. */
export function backendConformance(name: string, make: () => Promise<BackendHarness>): void {
  const test = (what: string, fn: (h: BackendHarness) => Promise<void>) =>
    Deno.test(`ChatBackend conformance (${name}): ${what}`, async () => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.done();
      }
    });

  test("names the user, the server and a role", async ({ backend }) => {
    assert.match(backend.user, /^[a-z0-9][a-z0-9_.-]*$/);
    assert.match(backend.server, /:\d+$/);
    assert.equal(backend.role, "user");
    await Promise.resolve();
  });

  test("send answers the stored message, and history of that conversation holds it", async (h) => {
    const to: Target = { kind: "user", name: h.peer };
    const m = await h.backend.send(to, "conformance hello");
    assert.equal(m.from, h.backend.user);
    assert.deepEqual(m.to, to);
    assert.equal(m.text, "conformance hello");
    assert.ok(Number.isInteger(m.seq) && m.seq > 0, `seq ${m.seq}`);
    assert.ok(Number.isFinite(m.ts) && m.ts > 0, `ts ${m.ts}`);
    const m2 = await h.backend.send(to, "conformance again");
    assert.ok(m2.seq > m.seq, "seq grows");
    const hist = await h.backend.history(to);
    const texts = hist.map((x) => x.text);
    assert.ok(texts.indexOf("conformance hello") >= 0, JSON.stringify(texts));
    assert.ok(texts.indexOf("conformance hello") < texts.indexOf("conformance again"), "oldest first");
    assert.deepEqual(await h.backend.history(to, m2.ts + 60_000), [], "nothing after a later time");
  });

  test("createRoom makes the user an admin member; rooms() lists it until leave", async (h) => {
    const r = await h.backend.createRoom("conf-room", [h.peer]);
    assert.equal(r.name, "conf-room");
    assert.ok(r.members.includes(h.backend.user) && r.members.includes(h.peer), JSON.stringify(r));
    assert.ok(r.admins.includes(h.backend.user));
    assert.ok((await h.backend.rooms()).some((x) => x.name === "conf-room"));
    await h.backend.leave("conf-room");
    assert.ok(!(await h.backend.rooms()).some((x) => x.name === "conf-room"), "left");
  });

  test("whois of an unregistered name is refused with code no_such_user", async (h) => {
    await assert.rejects(
      h.backend.whois("nobody-conformance"),
      (e: { code?: string }) => e.code === "no_such_user",
    );
  });

  test("moderation refuses a non-admin with code forbidden", async (h) => {
    await refusedAsNonAdmin(h.backend.kick(h.peer), "kick");
    await refusedAsNonAdmin(h.backend.kicked(), "kicked");
    await refusedAsNonAdmin(h.backend.grant(h.peer), "grant");
    await refusedAsNonAdmin(h.backend.revoke(h.peer), "revoke");
  });

  test("a message from the peer arrives as one event; after unsubscribing none do", async (h) => {
    const got: string[] = [];
    const off = h.backend.on((e) => {
      if (e.type === "message") got.push(`${e.message.from}>${e.message.to.kind}:${e.message.text}`);
    });
    await h.peerSends("conformance ping");
    const want = `${h.peer}>user:conformance ping`;
    const deadline = Date.now() + 5000;
    while (!got.includes(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [want]);
    off();
    // A second listener sees the next message; the unsubscribed one must not.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 5000);
      const off2 = h.backend.on((e) => {
        if (e.type === "message" && e.message.text === "after unsubscribe") (off2(), resolve(true));
      });
    });
    await h.peerSends("after unsubscribe");
    assert.ok(await seen, "the second listener got the message");
    clearTimeout(timer);
    assert.deepEqual(got, [want], "no event after unsubscribe");
  });

  test("setStatus resolves for busy and free", async (h) => {
    await h.backend.setStatus("busy");
    await h.backend.setStatus("free");
  });
}
