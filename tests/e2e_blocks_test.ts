/**
 * Blocking a user (lib/client/e2e/blocks.ts) through a real server with end-to-end keys: what the
 * blocked user sends — a DM, a room line, a reaction, a file offer, typing — never shows and is
 * acknowledged (the server keeps nothing for a later start); messages and files to them are refused
 * before anything is queued or uploaded; after an unblock their next DM and room line read (their
 * ratchet and chain stayed in step), while what they sent meanwhile stays gone, history included.
 */
import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage, Target } from "../lib/client/backend.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { convKey } from "../lib/protocol/names.ts";
import { eventually, inbox, runAs, startTestServer } from "./helpers.ts";

const dm = (name: string): Target => ({ kind: "user", name });
const dev: Target = { kind: "room", name: "dev" };
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

Deno.test("blocks: nothing a blocked user sends shows or stays queued; nothing goes to them; an unblock reads what comes next", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const c = await t.e2eClient("carol");
    const ai = inbox(a.client);
    const events: BackendEvent[] = [];
    a.client.on((e) => void events.push(e));
    for (const x of [b, c]) await x.client.sync();
    await a.client.start(); // follows the feed as the full-screen client does: acknowledges in batches
    await a.client.commands.createRoom("dev", ["bob", "carol"]);
    const first = await b.client.send(dm("alice"), "before the block");
    await eventually(() => ai.msgs.some((m) => m.text === "before the block"), 5000, "bob's first DM");
    const blocks = a.client.blocks!;
    assert.deepEqual(await blocks.block("bob"), ["bob"]);

    // What bob sends now: typing, a DM, a reaction, a room line, a file offer; carol's line still shows.
    b.client.typing.set(dm("alice"), true);
    await b.client.changes.react(first.mid, "👍");
    const roomLine = await b.client.send(dev, "room line while blocked");
    await Deno.mkdir(`${t.dir}/src`, { recursive: true });
    await Deno.writeTextFile(`${t.dir}/src/spam.txt`, "spam");
    await FileTransfers.of(b.client).send("alice", `${t.dir}/src/spam.txt`, "relay");
    const last = await b.client.send(dm("alice"), "while blocked");
    const blockedSeqs = [last.seq, roomLine.seq];
    await c.client.send(dev, "carol's line");
    await eventually(() => a.codec.cs.consumed(last.seq), 5000, "bob's last DM opened and dropped");
    await eventually(() => ai.msgs.some((m) => m.text === "carol's line"), 5000, "carol's line");
    const fromBob = (m: ChatMessage) => m.from === "bob" && !m.setting && m.text !== "before the block";
    assert.deepEqual(ai.msgs.filter(fromBob), [], "no line of bob's");
    assert.deepEqual(events.filter((e) => e.type === "typing"), [], "no typing");
    assert.deepEqual(events.filter((e) => e.type === "file.offer" || e.type === "message.changed"), []);
    assert.deepEqual(await FileTransfers.of(a.client).incoming(), [], "no offer filed");
    assert.deepEqual(ai.notices.filter((n) => n.includes("bob")), [], "nothing said of bob");
    assert.equal(a.store.get(first.seq)?.reactions, undefined, "the reaction did not apply");

    // A room bob runs: his lines there are dropped too, but the disappearing time he sets is the room's.
    await b.client.commands.createRoom("ops", ["alice", "carol"]);
    await b.client.changes.setExpiry({ kind: "room", name: "ops" }, 3600);
    const opsLine = await b.client.send({ kind: "room", name: "ops" }, "ops line while blocked");
    await eventually(() => a.codec.cs.consumed(opsLine.seq), 5000, "bob's ops line dropped");
    assert.equal(a.store.expiryOf(convKey("room", "ops")), 3600, "the room's time applies");
    assert.deepEqual(ai.msgs.filter(fromBob).map((m) => m.text), [], "still no line of bob's");

    // Nothing to them: refused before the outbox or an upload.
    await assert.rejects(a.client.send(dm("bob"), "hello?"), code("blocked"));
    await assert.rejects(FileTransfers.of(a.client).send("bob", `${t.dir}/src/spam.txt`), code("blocked"));
    assert.equal(a.client.outbox.count(), 0, "nothing queued");

    // Acknowledged: the server keeps none of it for a later start of alice's folder.
    await a.client.close();
    const queued = (await t.srv.core.store.pending("alice", 0, 100)).map((m) => m.seq);
    assert.deepEqual(queued.filter((s) => blockedSeqs.includes(s)), [], `still queued: ${queued}`);
    const again = await t.e2eClient("alice", { register: false });
    await again.client.start();
    const ai2 = inbox(again.client);

    // Unblocked: what bob sends next reads (DM and room), what he sent meanwhile stays gone.
    await again.client.blocks!.unblock("bob");
    await assert.rejects(again.client.blocks!.unblock("bob"), code("not_blocked"));
    await b.client.send(dm("alice"), "after the unblock");
    await b.client.send(dev, "room line after");
    await eventually(() => ai2.msgs.length === 2, 5000, `bob's lines after: ${ai2.notices}`);
    assert.deepEqual(ai2.msgs.map((m) => m.text), ["after the unblock", "room line after"]);
    const history = (await again.client.history(dm("bob"))).map((m) => m.text);
    assert.ok(!history.includes("while blocked"), history.join());
  } finally {
    await t.stop();
  }
});

Deno.test("scripted: parley block, blocked, unblock; a block made by one process of a folder holds for the next", async () => {
  const t = await startTestServer();
  const cli = async (user: string, ...args: string[]) => {
    const r = await runAs(t, user, args);
    return [r.code, r.out.trim(), r.err.trim()];
  };
  try {
    for (const u of ["alice", "bob"]) assert.equal((await cli(u, "register"))[0], 0);
    assert.deepEqual(await cli("alice", "blocked"), [0, "", "Nobody is blocked"]);
    assert.deepEqual(await cli("alice", "block", "nobody"), [1, "", "parley: There is no user named nobody"]);
    assert.deepEqual(await cli("alice", "block", "alice"), [2, "", "parley: You cannot block yourself"]);
    assert.deepEqual(await cli("alice", "block", "Bob"), [0, "Blocked bob", ""]);
    assert.deepEqual(await cli("alice", "block", "bob"), [0, "bob is blocked already", ""]);
    assert.deepEqual(await cli("alice", "blocked", "--json"), [0, '{"blocked":["bob"]}', ""]);
    assert.equal((await cli("bob", "send", "alice", "spam 1"))[0], 0, "bob is not told");
    assert.deepEqual(await cli("alice", "read"), [0, "", "No new messages"]);
    const refused = await cli("alice", "send", "bob", "hello?");
    assert.equal(refused[0], 1);
    assert.match(String(refused[2]), /You blocked bob: unblock them first/);
    assert.deepEqual(await cli("alice", "unblock", "bob"), [0, "Unblocked bob", ""]);
    assert.deepEqual(await cli("alice", "unblock", "bob"), [1, "", "parley: bob is not blocked"]);
    assert.equal((await cli("bob", "send", "alice", "hello again"))[0], 0);
    const read = await cli("alice", "read");
    assert.equal(read[0], 0);
    assert.match(String(read[1]), /bob -> alice: hello again$/);
    assert.doesNotMatch(String(read[1]), /spam/);
  } finally {
    await t.stop();
  }
});

Deno.test("blocks: a block message from another user (not one of my devices) changes nothing", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await t.e2eClient("carol");
    await a.client.sync();
    const ai = inbox(a.client);
    // bob forges what alice's other device would send: "block carol".
    const forged = (mid: string) =>
      new TextEncoder().encode(JSON.stringify({ v: 1, k: "block", mid, user: "carol", on: true }));
    await b.codec.send(dm("alice"), "block", forged);
    const after = await b.client.send(dm("alice"), "after the forged block");
    await eventually(() => ai.msgs.some((m) => m.seq === after.seq), 5000, "bob's next DM");
    assert.deepEqual(await a.client.blocks!.list(), [], "carol is not blocked");
    assert.deepEqual(ai.notices.filter((n) => /Blocked/.test(n)), []);
  } finally {
    await t.stop();
  }
});
