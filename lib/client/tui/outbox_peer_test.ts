/**
 * Peer mode's `/outbox` (issue 39): besides texts, the changes and settings queued for a peer that
 * is away (an edit, a reaction, a disappearing time) and a file offer waiting for it are listed,
 * numbered with the texts, and counted (/quit's warning); any of them can be dropped by its number
 * (a change is not sent, a file offer is withdrawn); once the peer is back the rest goes, and the
 * outbox is empty again.
 */
import assert from "node:assert/strict";
import type { CommandContext } from "./command_context.ts";
import { PEER_COMMANDS } from "./commands_peer.ts";
import { parseLine } from "./parse.ts";
import { utcTime } from "./testing.ts";
import { PeerNode } from "../peer/node.ts";
import type { BackendEvent } from "../backend.ts";
import { PeerStore } from "../peer/store.ts";
import { dm, nextEvent, say } from "../peer/events_testing.ts";
import { until } from "../../common/wait_testing.ts";

async function node(name: string, home: string | null): Promise<PeerNode> {
  const store = await PeerStore.open(home, name);
  return await PeerNode.start({
    name,
    store,
    hostname: "127.0.0.1",
    port: 0,
    backoff: { minMs: 50, maxMs: 400 },
  });
}

/** Resolves once `pred` holds (checked every 20 ms, for up to 10 s). */
Deno.test("peer TUI: /outbox lists and counts the changes, settings and file offers waiting for an away peer", async () => {
  const dir = await Deno.makeTempDir();
  const a = await node("alice", null);
  let b = await node("bob", `${dir}/bob`);
  const backend = a.backend();
  const printed: string[] = [];
  const ctx = {
    backend,
    target: { kind: "user", name: "bob" },
    print: (s: string) => void printed.push(s),
    formatTime: utcTime,
  } as unknown as CommandContext;
  const run = async (line: string) => {
    printed.length = 0;
    const p = parseLine(line, { role: "user", isUser: () => true, commands: PEER_COMMANDS });
    assert.equal(p.kind, "command");
    if (p.kind === "command") await p.spec.run(ctx, p.args);
    return printed.map((l) => l.replace(/^(\d+\.) \S+ /, "$1 "));
  };
  const outbox = () => run("/outbox");
  try {
    const up = nextEvent(b, (e) => e.type === "presence" && e.online);
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    await up;
    let got = nextEvent(a, (e) => e.type === "message" && e.message.text === "hi alice");
    const hi = await say(b, "alice", "hi alice");
    await got;
    const mine = await say(a, "bob", "first draft");
    await nextEvent(
      a,
      (e: BackendEvent) => e.type === "message" && !e.message.failed && e.message.mid === mine.mid,
    );
    assert.deepEqual(await outbox(), ["The outbox is empty"]);
    assert.equal(backend.outbox.count(), 0);
    // Bob goes away; alice writes, edits, reacts, sets a disappearing time and offers a file.
    const gone = nextEvent(a, (e) => e.type === "presence" && !e.online);
    await b.close();
    await gone;
    await say(a, "bob", "are you there?");
    await a.client.changes.changeMessage(mine.mid, { kind: "edit", text: "second draft" });
    await a.client.changes.react(hi.mid, "👍");
    await a.client.changes.setExpiry(dm("bob"), 86400);
    await Deno.writeTextFile(`${dir}/notes.txt`, "x".repeat(2048));
    await a.sendFile("bob", `${dir}/notes.txt`);
    assert.deepEqual(await outbox(), [
      "1. → bob: are you there? (waiting)",
      "2. → bob: edit of your message: second draft (waiting)",
      '3. → bob: reaction 👍 on "hi alice" (waiting)',
      "4. → bob: ⏱ messages here now disappear 1d after they are sent (waiting)",
      "5. → bob: file notes.txt (2.0 KiB) (waiting)",
    ]);
    assert.equal(backend.outbox.count(), 5, "/quit counts them all");
    printed.length = 0;
    const quit = parseLine("/quit", { role: "user", isUser: () => true, commands: PEER_COMMANDS });
    if (quit.kind === "command") await quit.spec.run(ctx, quit.args);
    assert.match(
      printed.join("\n"),
      /^1 message, 3 changes and 1 file offer are not sent yet/,
      "/quit says what waits",
    );
    // The edit and the file offer are dropped by their numbers; the others are numbered again.
    assert.deepEqual(await run("/outbox drop 2"), [
      "Dropped change 2 to bob (edit of your message: second draft): it will not be sent; here it stays",
    ]);
    assert.deepEqual(await run("/outbox drop 4"), [
      "Withdrew file offer 4 to bob (file notes.txt (2.0 KiB)): it will not be offered",
    ]);
    await assert.rejects(run("/outbox drop 4"), /no message 4/);
    assert.deepEqual(await outbox(), [
      "1. → bob: are you there? (waiting)",
      '2. → bob: reaction 👍 on "hi alice" (waiting)',
      "3. → bob: ⏱ messages here now disappear 1d after they are sent (waiting)",
    ]);
    assert.equal(backend.outbox.count(), 3);
    assert.ok(!a.files.list().some((f) => f.name === "notes.txt"), "the offer is withdrawn");
    // Bob is back: everything goes, and the outbox is empty.
    b = await node("bob", `${dir}/bob`);
    const offers: string[] = [];
    b.on((e) => e.type === "file.offer" && offers.push(e.offer.name));
    got = nextEvent(b, (e) => e.type === "message" && e.message.text === "are you there?");
    const reacted = nextEvent(b, (e) => e.type === "message.changed" && e.change?.kind === "react");
    await b.connect(`127.0.0.1:${a.port}`);
    await got;
    await reacted; // written after the dropped edit would have been
    await until(() => backend.outbox.count() === 0, "everything delivered");
    assert.deepEqual(await outbox(), ["The outbox is empty"]);
    const first = b.store.local.byMidAny(mine.mid);
    assert.equal(first?.text, "first draft", "bob never got the dropped edit");
    assert.equal(first?.edited, undefined);
    assert.deepEqual(offers, [], "nor the withdrawn offer");
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});
