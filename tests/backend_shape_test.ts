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

/**
 * ChatClient's public members (79 before issue 70.5 grouped them, 65 before issue 70.6): its ChatBackend, the
 * parts launchers wire, and `commands` (server_commands.ts), the one-request commands it holds rather than inherits.
 * 50 since issue 70's "one client": peer mode's core is a ChatClient too, and `peers` (`/connect`, `/peers`)
 * is the capability its launcher wires (peer/node.ts `backend`), as `files` and `watch` are.
 */
const CHAT_CLIENT = [
  ...["account", "ack", "away", "blocks", "changes", "clock", "close", "codec", "commands", "conn"],
  ...["engine", "feed", "files", "findFfmpeg", "fingerprint", "history", "keys", "link", "local"],
  ...["maxFrame", "moderation", "nonce", "notify", "now", "on", "opened", "outbox", "outgoing"],
  ...[
    "peers",
    "perSession",
    "reconnect",
    "remote",
    "role",
    "rooms",
    "send",
    "server",
    "session",
    "setStatus",
  ],
  ...["signal", "start", "store", "sync", "typing", "user", "verify", "video", "videoPart", "watch"],
  ...["who", "whois"],
];

Deno.test("ChatClient's public surface stays at its 50 members", () => {
  // A connection that never answers nor ends: the object's members, without a server.
  const conn = { onPush: () => () => {}, done: new Promise(() => {}) } as never;
  const names = publicNames(new ChatClient(new ServerSession(conn, "x", "alice", "user")));
  assert.deepEqual(names, [...CHAT_CLIENT].sort());
  assert.equal(names.length, 50);
});
