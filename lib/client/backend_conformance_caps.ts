/**
 * The cases of each capability object of `ChatBackend` (backend.ts `Capabilities`), run by the
 * conformance suite (backend_conformance.ts) for every capability an implementation declares.
 * A capability's cases use only that object (asked through `capability`, as the TUI does).
 */
import assert from "node:assert/strict";
import { BackendError, capability, type CapabilityName, type Target } from "./backend.ts";
import { type BackendHarness as Harness, sendStored } from "./backend_conformance_kit.ts";
import { MORE_CASES } from "./backend_conformance_groups.ts";

type Case = [string, (h: Harness) => Promise<void>];
const dm = (name: string): Target => ({ kind: "user", name });

async function refusedAsNonAdmin(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BackendError || (e instanceof Error && "code" in e), `${what}: ${e}`);
    assert.equal((e as { code: string }).code, "forbidden", what);
    return true;
  });
}

/** Every capability's cases; the compiler insists on an entry for each capability. */
export const CAPABILITY_CASES: Record<CapabilityName, Case[]> = {
  rooms: [
    ["create makes the user an admin member; list() holds it until leave", async (h) => {
      const rooms = capability(h.backend, "rooms");
      const r = await rooms.create("conf-room", [h.peer]);
      assert.equal(r.name, "conf-room");
      assert.ok(r.members.includes(h.backend.user) && r.members.includes(h.peer), JSON.stringify(r));
      assert.ok(r.admins.includes(h.backend.user));
      assert.ok((await rooms.list()).some((x) => x.name === "conf-room"));
      await rooms.leave("conf-room");
      assert.ok(!(await rooms.list()).some((x) => x.name === "conf-room"), "left");
    }],
  ],
  moderation: [
    ["refuses a non-admin with code forbidden", async (h) => {
      const mod = capability(h.backend, "moderation");
      await refusedAsNonAdmin(mod.kick(h.peer), "kick");
      await refusedAsNonAdmin(mod.kicked(), "kicked");
      await refusedAsNonAdmin(mod.grant(h.peer), "grant");
      await refusedAsNonAdmin(mod.revoke(h.peer), "revoke");
    }],
  ],
  files: [
    ["lists no transfer and no waiting offer at start; reject without an offer is refused", async (h) => {
      const files = capability(h.backend, "files");
      assert.deepEqual(await files.list(), []);
      assert.equal(await files.waiting(), 0);
      assert.ok(Array.isArray(await files.outbox()));
      await assert.rejects(files.reject(), (e: unknown) => e instanceof Error && "code" in e);
    }],
  ],
  video: [
    ["lists the library, or refuses with a stable code", async (h) => {
      const video = capability(h.backend, "video");
      try {
        assert.ok(Array.isArray(await video.list()));
      } catch (e) {
        assert.match(String((e as { code?: string }).code), /^[a-z_]+$/, String(e));
      }
    }],
  ],
  blocks: [
    [
      "blocks a user the server holds (not oneself), lists, refuses a message to them, unblocks",
      async (h) => {
        const blocks = capability(h.backend, "blocks");
        const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
        assert.deepEqual(await blocks.list(), []);
        await assert.rejects(blocks.block(h.backend.user), code("usage"));
        await assert.rejects(blocks.block("nobody-here"), code("no_such_user"));
        assert.deepEqual(await blocks.block(h.peer), [h.peer]);
        assert.deepEqual(await blocks.list(), [h.peer]);
        await assert.rejects(h.backend.send({ kind: "user", name: h.peer }, "hi"), code("blocked"));
        assert.deepEqual(await blocks.unblock(h.peer), []);
        await assert.rejects(blocks.unblock(h.peer), code("not_blocked"));
      },
    ],
  ],
  changes: [
    ["expiry reads back the disappearing time setExpiry set (0: off)", async (h) => {
      const changes = capability(h.backend, "changes"), peer = { kind: "user" as const, name: h.peer };
      assert.equal(await changes.expiry(peer), 0, "none set");
      const noKeys = (e: { code?: string }) => e.code === "no_keys" ? null : Promise.reject(e);
      if (await changes.setExpiry(peer, 90).catch(noKeys) === null) return; // a client without keys has none
      assert.equal(await changes.expiry(peer), 90);
      await changes.setExpiry(peer, 0);
      assert.equal(await changes.expiry(peer), 0);
    }],
    [
      "a message nobody holds cannot be changed, reacted to or asked for its edits: a stable code",
      async (h) => {
        const changes = capability(h.backend, "changes");
        const coded = (e: unknown) => /^[a-z_]+$/.test(String((e as { code?: string }).code));
        await assert.rejects(changes.changeMessage("no-such-mid", { kind: "edit", text: "x" }), coded);
        await assert.rejects(changes.react("no-such-mid", "👍"), coded);
        await changes.editsOf("no-such-mid").then(
          (edits) => assert.deepEqual(edits, []),
          (e) => assert.ok(coded(e), String(e)),
        );
      },
    ],
    ["edits one's own message (its earlier text kept), or refuses with a stable code", async (h) => {
      const changes = capability(h.backend, "changes"), to: Target = { kind: "user", name: h.peer };
      const m = await sendStored(h.backend, to, "conformance first");
      const edited = await changes.changeMessage(m.mid, { kind: "edit", text: "conformance fixed" }).catch((
        e,
      ) => e);
      if (!(edited instanceof Error)) {
        assert.equal(edited.text, "conformance fixed");
        assert.deepEqual((await changes.editsOf(m.mid)).map((e) => e.text), ["conformance first"]);
      } else assert.match(String((edited as { code?: string }).code), /^[a-z_]+$/, String(edited));
    }],
    ["reads back the disappearing time setExpiry set (0: off)", async (h) => {
      const b = capability(h.backend, "changes"), peer = { kind: "user" as const, name: h.peer };
      assert.equal(await b.expiry(peer), 0, "none set");
      const noKeys = (e: { code?: string }) => e.code === "no_keys" ? null : Promise.reject(e);
      if (await b.setExpiry(peer, 90).catch(noKeys) === null) return; // a client without keys has none
      assert.equal(await b.expiry(peer), 90);
      await b.setExpiry(peer, 0);
      assert.equal(await b.expiry(peer), 0);
    }],
  ],
  outbox: [
    ["nothing waits at start; dropping an entry that is not there answers null", async (h) => {
      const outbox = capability(h.backend, "outbox");
      assert.equal(outbox.count(), 0);
      assert.deepEqual(await outbox.list(), []);
      assert.equal(await outbox.drop(1), null);
      assert.equal(outbox.count(), 0);
    }],
    [
      "nothing waits once a message is stored; dropping an entry that is not there answers null",
      async (h) => {
        const outbox = capability(h.backend, "outbox");
        await sendStored(h.backend, dm(h.peer), "conformance outbox");
        assert.equal(outbox.count(), 0);
        assert.deepEqual((await outbox.list()).filter((e) => !e.failed), []);
        assert.equal(await outbox.drop(999_999), null);
      },
    ],
  ],
  feed: [
    [
      "catchUp answers what to show first; markSeen and read take what was shown",
      async (h) => {
        const feed = capability(h.backend, "feed");
        const first = await feed.catchUp();
        for (const list of [first.recent, first.unseen, first.pending]) assert.ok(Array.isArray(list));
        for (const m of [...first.recent, ...first.unseen]) assert.equal(typeof m.mid, "string");
        feed.markSeen(first.unseen);
        feed.read({ kind: "user", name: h.peer }, 1);
      },
    ],
    [
      "catchUp answers what to show first; markSeen, read and info take and answer plain values",
      async (h) => {
        const feed = capability(h.backend, "feed");
        const m = await sendStored(h.backend, dm(h.peer), "conformance feed");
        const c = await feed.catchUp();
        for (const k of ["recent", "unseen", "pending"] as const) assert.ok(Array.isArray(c[k]), k);
        feed.markSeen([m]);
        feed.read(dm(h.peer), m.seq);
        const rows = feed.info();
        assert.ok(
          rows.length > 0 && rows.every((r) => r.length === 2 && r.every((x) => typeof x === "string")),
        );
      },
    ],
  ],
  peers: [
    ["list() names the connected peer online; discover() answers a count", async (h) => {
      const peers = capability(h.backend, "peers");
      const p = (await peers.list()).find((x) => x.name === h.peer);
      assert.ok(p?.online, JSON.stringify(p));
      assert.ok(Number.isInteger(await peers.discover()));
    }],
    ["connect to an address nobody listens on is refused", async (h) => {
      await assert.rejects(capability(h.backend, "peers").connect("127.0.0.1:1"));
    }],
  ],
  away: [
    ["keeps the reason set, clears it, refuses one of several lines with code usage", async (h) => {
      const away = capability(h.backend, "away");
      away.set("at lunch");
      assert.equal(away.reason, "at lunch");
      assert.throws(() => away.set("two\nlines"), (e: { code?: string }) => e.code === "usage");
      away.set(null);
      assert.equal(away.reason, null);
      await Promise.resolve();
    }],
  ],
  watch: [
    ["answers the server's time", async (h) => {
      assert.ok(Number.isFinite(await capability(h.backend, "watch").serverTime()));
    }],
  ],
  ...MORE_CASES,
};
