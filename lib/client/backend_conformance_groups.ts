/**
 * The conformance cases of the capability objects backend_groups.ts describes (typing, remote,
 * keys, local; outbox and feed: backend_conformance_caps.ts), joined to the others in backend_conformance_caps.ts and run by
 * backend_conformance.ts on every implementation that offers them. Each uses only its object.
 */
import assert from "node:assert/strict";
import { capability, type Target } from "./backend.ts";
import { type BackendHarness, sendStored, waitForEvent } from "./backend_conformance_kit.ts";

type Case = [string, (h: BackendHarness) => Promise<void>];
const dm = (name: string): Target => ({ kind: "user", name });

export const MORE_CASES: Record<"typing" | "remote" | "keys" | "local", Case[]> = {
  typing: [
    ["says typing and its end in a conversation, and not in the broadcast, without throwing", async (h) => {
      const typing = capability(h.backend, "typing");
      typing.set(dm(h.peer), true);
      typing.set(dm(h.peer), false);
      typing.set({ kind: "broadcast" }, true);
      await Promise.resolve();
    }],
  ],
  remote: [
    [
      "a page of the server's history holds a message sent; users names both; devices is a list",
      async (h) => {
        const remote = capability(h.backend, "remote");
        const m = await sendStored(h.backend, dm(h.peer), "conformance page");
        const p = await remote.historyPage(dm(h.peer));
        assert.ok(p.messages.some((x) => x.mid === m.mid), JSON.stringify(p.messages.map((x) => x.text)));
        assert.ok(p.oldest !== null && p.oldest <= m.seq && p.count >= p.messages.length);
        const users = (await remote.users()).map((u) => u.user);
        assert.ok(users.includes(h.peer) && users.includes(h.backend.user), JSON.stringify(users));
        assert.ok(Array.isArray(await remote.devices()));
      },
    ],
  ],
  keys: [
    [
      "the inbox of a user holds what they sent; trust answers the user's key or a stable refusal",
      async (h) => {
        const keys = capability(h.backend, "keys");
        const got = waitForEvent(
          h.backend,
          (e) => e.type === "message" && e.message.text === "conformance inbox" || undefined,
        );
        await h.peerSends("conformance inbox");
        await got;
        assert.ok((await keys.inbox(h.peer)).some((m) => m.text === "conformance inbox"));
        const f = await keys.trust(h.peer).catch((e: Error) => e);
        if (f instanceof Error) assert.match(String((f as { code?: string }).code), /^[a-z_]+$/, String(f));
        else assert.equal(f.user, h.peer);
      },
    ],
  ],
  local: [
    ["search finds a message sent, by every word of it", async (h) => {
      const local = capability(h.backend, "local");
      await sendStored(h.backend, dm(h.peer), "conformance needle in hay");
      const r = await local.search({ text: "needle conformance", limit: 10 });
      assert.deepEqual(r.matches.map((m) => m.text), ["conformance needle in hay"]);
      assert.equal((await local.search({ text: "needle absent", limit: 10 })).matches.length, 0);
    }],
    ["mutes: a conversation muted is listed as lists name it, until it is unmuted", async (h) => {
      const m = capability(h.backend, "local").mutes;
      assert.deepEqual(await m.set("#Dev", true), ["#dev"]);
      assert.deepEqual(await m.set(`@${h.peer.toUpperCase()}`, true), ["#dev", h.peer].sort());
      assert.deepEqual(await m.set(h.peer, true), ["#dev", h.peer].sort(), "muted twice: listed once");
      await assert.rejects(m.set("#", true), (e: { code?: string }) => e.code === "usage");
      assert.deepEqual(await m.set("#dev", false), [h.peer]);
      assert.deepEqual(await m.list(), [h.peer]);
    }],
    ["bufferOrder: reads back the order last saved", async (h) => {
      const o = capability(h.backend, "local").bufferOrder;
      await o.save(["@kofi", "#proj"]);
      assert.deepEqual(await o.list(), ["@kofi", "#proj"]);
      await o.save(["#proj"]);
      assert.deepEqual(await o.list(), ["#proj"]);
    }],
    ["highlights: a word added is listed as kept (lower case, trimmed), until it is removed", async (h) => {
      const w = capability(h.backend, "local").highlights;
      assert.deepEqual(await w.set("  Deploy ", true), ["deploy"]);
      assert.deepEqual(await w.set("release  train", true), ["deploy", "release train"]);
      assert.deepEqual(await w.set("DEPLOY", true), ["deploy", "release train"], "added twice: listed once");
      await assert.rejects(w.set("   ", true), (e: { code?: string }) => e.code === "usage");
      assert.deepEqual(await w.set("Deploy", false), ["release train"]);
      assert.deepEqual(await w.list(), ["release train"]);
    }],
  ],
};
