/**
 * Issue 39: a conversation's disappearing-time setting is shown as its sender's line, but it is no
 * text: in a DM and in a room its sender's client refuses to edit, delete or react to it (a clear
 * error, code `setting_line`), and every receiver refuses such a change forged past the client's
 * checks, changing nothing.
 */
import assert from "node:assert/strict";
import { randomId } from "../lib/common/random.ts";
import type { ChatMessage, MessageChange, Target } from "../lib/client/backend.ts";
import { eventually, inbox, startTestServer, type TestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

type Client = Awaited<ReturnType<TestServer["e2eClient"]>>;

/** `x` seals change `c` of `ref` itself (as a modified client would) and sends it to `to`. */
async function forge(x: Client, to: Target, ref: string, c: MessageChange) {
  const mid = randomId(undefined, 12);
  const s = await x.codec.sealChange(to, mid, ref, c);
  await x.client.conn.request("send", { to, mid, ...(s.devices ? { devices: s.devices } : {}) }, s.body);
}

const CHANGES: MessageChange[] = [
  { kind: "edit", text: "⏱ messages here no longer disappear" },
  { kind: "react", emoji: "👍", on: true },
  { kind: "delete" },
];

/** The line `x` holds for setting `line`, unchanged (text, no edit, no reaction, not deleted). */
function unchanged(x: Client, line: ChatMessage): void {
  const held = x.store.byMid("alice", line.mid)!;
  assert.equal(held.setting, true, `${x.client.user}: a setting line`);
  assert.equal(held.text, line.text);
  for (const k of ["edited", "reactions", "deleted"] as const) assert.equal(held[k], undefined, k);
}

test("setting lines: the sender's client refuses to change one; a forged change is refused by every receiver (DM and room)", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice"), b = await t.e2eClient("bob"), c = await t.e2eClient("carol");
    for (const x of [b, c]) await x.client.sync();
    await a.client.commands.createRoom("den", ["bob", "carol"]);
    for (const x of [b, c]) await x.client.sync();
    const bob: Target = { kind: "user", name: "bob" }, den: Target = { kind: "room", name: "den" };
    const alice: Target = { kind: "user", name: "alice" };
    const ai = inbox(a.client), bi = inbox(b.client), ci = inbox(c.client);
    const dm = await a.client.changes.setExpiry(bob, 3600);
    const room = await a.client.changes.setExpiry(den, 3600);
    for (const x of [b, c]) await x.client.sync();
    for (const line of [dm, room]) {
      assert.equal(line.setting, true, "the line the sender is answered is a setting line");
      unchanged(a, line);
      unchanged(b, line);
      // Its sender and a member: refused before anything is sent.
      for (const ch of CHANGES) {
        await assert.rejects(a.client.changes.changeMessage(line.mid, ch), {
          code: "setting_line",
          message: "A setting line cannot be edited, deleted or reacted to",
        });
      }
      await assert.rejects(b.client.changes.react(line.mid, "👍"), { code: "setting_line" });
    }
    unchanged(c, room);
    // Past the clients' checks: alice changes her own line, bob reacts to it.
    for (const ch of CHANGES) {
      await forge(a, bob, dm.mid, ch);
      await forge(a, den, room.mid, ch);
    }
    await b.client.send(den, "my sender key goes out with this"); // (forge sends no handouts)
    await forge(b, alice, dm.mid, CHANGES[1]!);
    await forge(b, den, room.mid, CHANGES[1]!);
    for (const x of [a, b, c]) await x.client.sync();
    for (const line of [dm, room]) for (const x of [a, b]) unchanged(x, line);
    unchanged(c, room);
    // bob: 3 of alice's in the DM, 3 in the room; carol: 3 of alice's, 1 of bob's; alice: bob's 2.
    await eventually(
      () => bi.notices.length >= 6 && ci.notices.length >= 4 && ai.notices.length >= 2,
      5000,
      "refusals",
    );
    for (const n of [ai, bi, ci]) {
      for (const line of n.notices) assert.match(line, /setting line/);
    }
  } finally {
    await t.stop();
  }
});
