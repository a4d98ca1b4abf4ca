/**
 * The full-screen peer mode's /reply, /edit, /delete, /react and /expire (issue 39): rows of
 * PEER_COMMANDS, run over a peer node's ChatClient (peer/node.ts `backend`), reach the other node as client mode's changes.
 */
import assert from "node:assert/strict";
import { durationText } from "../../common/parse_time.ts";
import type { BackendEvent, ChatMessage, Target } from "../backend.ts";
import type { CommandContext } from "./command_context.ts";
import { PEER_COMMANDS } from "./commands_peer.ts";
import { parseLine } from "./parse.ts";
import { utcTime } from "./testing.ts";
import { PeerNode } from "../peer/node.ts";
import { PeerStore } from "../peer/store.ts";
import { say } from "../peer/events_testing.ts";
import { expiryText } from "../e2e/mod.ts";

async function node(name: string): Promise<PeerNode> {
  const store = await PeerStore.open(null, name);
  return await PeerNode.start({ name, store, hostname: "127.0.0.1", port: 0 });
}

function next(n: PeerNode, pred: (e: BackendEvent) => boolean): Promise<BackendEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${n.name}: timed out`)), 20_000);
    const off = n.on((e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}

Deno.test("peer TUI: /reply /edit /delete /react /expire /me reach the peer", async () => {
  const [a, b] = [await node("alice"), await node("bob")];
  const backend = a.backend();
  const bobT: Target = { kind: "user", name: "bob" };
  const added: ChatMessage[] = [], printed: string[] = [];
  // The buffer's last message of bob's (or mine), as the app finds it: confirmed, not deleted.
  const lastOf = (own: boolean) => {
    const m = a.store.local.list("alice", 0, bobT).findLast((m) =>
      (m.from === "alice") === own && !m.deleted && m.seq > 0
    );
    return m
      ? { mid: m.mid, ts: m.ts, from: m.from, text: m.text, kind: own ? "own" : "msg" } as never
      : null;
  };
  const ctx = {
    backend,
    target: bobT,
    print: (t: string) => void printed.push(t),
    send: async (t: Target, text: string, replyTo?: string) =>
      void await backend.send(t, text, replyTo ? { replyTo } : undefined),
    lastMessage: lastOf,
    addMessages: (m: ChatMessage[]) => (added.push(...m), Promise.resolve(m.length)),
    now: () => Date.now(),
    formatTime: utcTime,
  } as unknown as CommandContext;
  const run = async (line: string) => {
    const p = parseLine(line, { role: "user", isUser: () => true, commands: PEER_COMMANDS });
    assert.equal(p.kind, "command", line);
    if (p.kind === "command") await p.spec.run(ctx, p.args);
  };
  const changed = (by: string) => next(b, (e) => e.type === "message.changed" && e.by === by);
  try {
    const up = next(b, (e) => e.type === "presence" && e.online);
    await a.connect(`127.0.0.1:${b.port}`);
    await up;
    let got = next(a, (e) => e.type === "message" && e.message.text === "hi alice");
    const hi = await say(b, "alice", "hi alice");
    await got;
    got = next(b, (e) => e.type === "message" && e.message.text === "hello bob");
    await run("/reply hello bob");
    const reply = (await got) as { message: ChatMessage };
    assert.equal(reply.message.replyTo, hi.mid);
    await next(a, (e) => e.type === "message" && !e.message.failed && e.message.mid === reply.message.mid);
    let change = changed("alice");
    await run("/react :thumbsup:");
    assert.deepEqual((await change as { message: ChatMessage }).message.reactions, { "👍": ["alice"] });
    change = changed("alice");
    await run("/edit hello, bob");
    assert.equal((await change as { message: ChatMessage }).message.text, "hello, bob");
    assert.deepEqual((await backend.changes.editsOf(reply.message.mid)).map((e) => e.text), ["hello bob"]);
    change = changed("alice");
    await run("/delete");
    assert.equal((await change as { message: ChatMessage }).message.deleted, true);
    await run("/expire");
    got = next(b, (e) => e.type === "message" && e.message.text === expiryText(86400));
    await run("/expire 1d");
    await got;
    await run("/expire");
    assert.deepEqual(printed, [
      "Messages here do not disappear (/expire TIME makes them, e.g. /expire 1d)",
      `Messages here disappear ${durationText(86400)} after they are sent (/expire off keeps them)`,
    ]);
    got = next(b, (e) => e.type === "message" && e.message.text === "/me waves"); // an action (core/action.ts)
    await run("/me waves");
    await got;
    assert.deepEqual(added.map((m) => m.text), [expiryText(86400)]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("peer TUI: /play, /join and the other server commands are refused as needing a server", () => {
  const opts = { role: "user" as const, isUser: () => true, commands: PEER_COMMANDS };
  for (const line of ["/play sample", "/videos", "/join den"]) {
    const p = parseLine(line, opts);
    const name = line.split(" ")[0]!;
    assert.deepEqual(p, {
      kind: "error",
      message: `${name} needs a server; peer mode has none (type /help for what works here)`,
    }, line);
  }
  const p = parseLine("/bogus", opts);
  assert.match(p.kind === "error" ? p.message : "", /^Unknown command \/bogus/);
});

Deno.test("peer TUI (issue 39.7): /watch-together @PEER [PATH] is peer mode's own row: a local video, started or joined", async () => {
  const opts = { role: "user" as const, isUser: () => true, commands: PEER_COMMANDS };
  const p = parseLine("/watch-together @bob /videos/my film.mp4", opts);
  assert.equal(p.kind, "command");
  const spec = PEER_COMMANDS.find((c) => c.name === "watch-together")!;
  assert.match(spec.help, /local video/);
  const started: Array<[string, string | undefined]> = [];
  const ctx = {
    video: {
      watch: { start: (peer: string, path?: string) => (started.push([peer, path]), Promise.resolve()) },
    },
  } as unknown as Parameters<typeof spec.run>[0];
  await spec.run(ctx, ["@bob", "/videos/my film.mp4"]);
  await spec.run(ctx, ["@bob"]);
  assert.deepEqual(started, [["@bob", "/videos/my film.mp4"], ["@bob", undefined]]);
});
