import assert from "node:assert/strict";
import { backendConformance, optionalMembers } from "../backend_conformance.ts";
import { ChatClient } from "../core/chat_client.ts";
import { ServerSession } from "../core/server_session.ts";
import { FakeBackend } from "./fake_backend.ts";
import { memoryMutes } from "./testing.ts";

backendConformance("FakeBackend", () => {
  const backend = new FakeBackend("alice");
  backend.registered = new Set(["alice", "bob"]);
  backend.mutes = memoryMutes(); // as a client with a folder has
  return Promise.resolve({
    backend,
    peer: "bob",
    peerSends: (text: string) =>
      Promise.resolve(void backend.receive("bob", { kind: "user", name: "alice" }, text)),
    done: () => Promise.resolve(),
  });
}, ["rooms", "moderation", "video"]);

Deno.test("FakeBackend offers no optional member the live backend lacks (typing only when a test opts in)", () => {
  // A connection that never answers nor ends: the core's members, without a server.
  const conn = { onPush: () => () => {}, done: new Promise(() => {}) } as never;
  const live = optionalMembers(new ChatClient(new ServerSession(conn, "x", "alice", "user")));
  const fake = optionalMembers(new FakeBackend());
  assert.deepEqual(fake.filter((m) => !live.includes(m)), []);
  assert.ok(optionalMembers(new FakeBackend().withTyping()).includes("typing"));
});
