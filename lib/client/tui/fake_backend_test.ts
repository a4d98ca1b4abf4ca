import assert from "node:assert/strict";
import { backendConformance, offered } from "../backend_conformance.ts";
import { ChatClient } from "../core/chat_client.ts";
import { ServerSession } from "../core/server_session.ts";
import { FakeBackend } from "./fake_backend.ts";
import { memoryLocal } from "./testing.ts";

/** The fake as the TUI's tests give it: `local` searching what it sent; `more` adds what `with…` can give. */
const fake = (more: boolean) => () => {
  const backend = new FakeBackend("alice");
  if (more) backend.withTyping().withFeed().withRemote();
  backend.registered = new Set(["alice", "bob"]);
  // As a client with a folder has: its search looks through what this backend sent.
  backend.local = memoryLocal({
    search: (q) => {
      const words = q.text.toLowerCase().split(/\s+/).filter(Boolean);
      const all = backend.sent.filter((m) => words.every((w) => m.text.toLowerCase().includes(w)));
      return Promise.resolve({ matches: all.slice(-q.limit!), searched: backend.sent.length, more: false });
    },
  });
  return Promise.resolve({
    backend,
    peer: "bob",
    peerSends: (text: string) =>
      Promise.resolve(void backend.receive("bob", { kind: "user", name: "alice" }, text)),
    done: () => Promise.resolve(),
  });
};
backendConformance("FakeBackend", fake(false), ["rooms", "moderation", "video", "keys", "local"]);
backendConformance("FakeBackend with typing, feed and remote", fake(true), [
  ...["rooms", "moderation", "video", "feed", "typing", "remote", "keys", "local"] as const,
]);

Deno.test("FakeBackend offers no capability the live backend lacks (the others only when a test gives them)", () => {
  // A connection that never answers nor ends: the core's capabilities, without a server.
  const conn = { onPush: () => () => {}, done: new Promise(() => {}) } as never;
  const live = offered(new ChatClient(new ServerSession(conn, "x", "alice", "user")));
  const fake = offered(new FakeBackend());
  assert.deepEqual(fake.filter((m) => !live.includes(m)), []);
  const given = new FakeBackend().withTyping().withFeed().withRemote();
  assert.deepEqual(offered(given).filter((m) => !offered(new FakeBackend()).includes(m)), [
    "feed",
    "typing",
    "remote",
  ]);
  assert.deepEqual(offered(given).filter((m) => !live.includes(m)), []);
});
