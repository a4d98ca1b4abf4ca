/**
 * Guards the size of the surfaces UIs and scripts speak (issue 70.5), so they cannot grow back
 * silently: `ChatBackend`'s core (lib/client/backend.ts `CORE_MEMBERS`, which the compiler checks
 * against the type) and the public members of `ChatClient` (lib/client/core/chat_client.ts).
 * Something new belongs in a capability object of its owner (backend.ts `Capabilities`); when a
 * member must be added here after all, change the list below in the same commit and say why.
 */
import assert from "node:assert/strict";
import { CAPABILITIES, CORE_MEMBERS } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { ServerSession } from "../lib/client/core/server_session.ts";

Deno.test("ChatBackend's core stays at its 12 members; everything else is a capability object", () => {
  assert.deepEqual([...CORE_MEMBERS].sort(), [
    "close",
    "fingerprint",
    "history",
    "on",
    "role",
    "send",
    "server",
    "setStatus",
    "user",
    "verify",
    "who",
    "whois",
  ]);
  assert.deepEqual(CAPABILITIES, [
    ...["rooms", "moderation", "files", "video", "peers", "blocks", "away", "watch"],
    ...["changes", "outbox", "feed", "typing", "remote", "keys", "local"],
  ]);
});

/** Every name an instance answers: its own fields and its classes' methods and getters. */
function publicNames(o: object): string[] {
  const names = new Set(Object.getOwnPropertyNames(o));
  for (let p = Object.getPrototypeOf(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) if (n !== "constructor") names.add(n);
  }
  return [...names].sort();
}

/** ChatClient's public members (79 before issue 70.5 grouped them): its ChatBackend, ServerCommands and the parts launchers wire. */
const CHAT_CLIENT = [
  ...["account", "ack", "away", "blocks", "changes", "clock", "close", "codec", "conn", "createRoom"],
  ...["devices", "engine", "feed", "files", "findFfmpeg", "fingerprint", "grant", "history", "invite"],
  ...["joinRoom", "keys", "kick", "kicked", "leave", "link", "local", "maxFrame", "moderation", "nonce"],
  ...["notify", "now", "on", "openRooms", "opened", "outbox", "outgoing", "perSession", "reconnect"],
  ...["remote", "revoke", "role", "roomAdmins", "roomKick", "roomList", "rooms", "send", "server"],
  ...["session", "setRoomPublic", "setStatus", "signal", "start", "store", "sync", "trust", "typing"],
  ...["useSession", "user", "users", "verify", "video", "videoPart", "watch", "who", "whois"],
];

Deno.test("ChatClient's public surface stays at its 65 members", () => {
  // A connection that never answers nor ends: the object's members, without a server.
  const conn = { onPush: () => () => {}, done: new Promise(() => {}) } as never;
  const names = publicNames(new ChatClient(new ServerSession(conn, "x", "alice", "user")));
  assert.deepEqual(names, [...CHAT_CLIENT].sort());
  assert.equal(names.length, 65);
});
