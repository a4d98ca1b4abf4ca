/**
 * Sender-key distribution is an effect the core carries out (issue 35.1): sealing a room message
 * sends nothing (a transport that throws on any request during the seal), the seal answers the
 * handouts as data, and once they are carried out (e2e/handouts.ts) the member reads the message.
 * A handout not carried out yet is handed out again under the same mid; `ChatClient.send` sends the
 * handouts before the message.
 */
import assert from "node:assert/strict";
import type { Target } from "../lib/client/backend.ts";
import { handOut } from "../lib/client/e2e/mod.ts";
import { eventually, inbox, startTestServer } from "./helpers.ts";

const TEAM: Target = { kind: "room", name: "team" };

Deno.test("handouts: a room seal sends nothing; its handouts, carried out, let the member read", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const bi = inbox(b.client);
    for (const x of [a, b]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob"]);
    await a.client.send(TEAM, "first"); // learns bob's devices, session and the room's log
    await eventually(() => bi.msgs.some((m) => m.text === "first"), 5000, "bob reads the first");
    await a.codec.rooms.rotate("team"); // a new chain: bob needs a handout again

    const conn = a.client.conn, real = conn.request.bind(conn);
    let sealing = false;
    const calls: string[] = [];
    conn.request = (kind, fields, body) => {
      if (sealing) throw new Error(`a request during a seal: ${kind}`);
      calls.push(`${kind} ${JSON.stringify(fields?.to)}`);
      return real(kind, fields, body);
    };
    const seal = async (mid: string, text: string) => {
      sealing = true;
      try {
        return await a.codec.seal(TEAM, mid, text);
      } finally {
        sealing = false;
      }
    };
    const s1 = await seal("mid-second-0001", "second");
    assert.deepEqual(calls, [], "nothing went out during the seal");
    assert.deepEqual(s1.handouts?.map((h) => [h.to, h.room]), [["bob", "team"]]);
    // Not reported yet: the next seal hands the same key out again, under the same mid.
    const s2 = await seal("mid-third-00001", "third");
    assert.deepEqual(s2.handouts?.map((h) => h.mid), s1.handouts!.map((h) => h.mid));

    await handOut(a.codec, a.client.link, s1.handouts);
    await conn.request("send", { to: TEAM, mid: "mid-second-0001" }, s1.body);
    await handOut(a.codec, a.client.link, s2.handouts); // a repeat of the mid: the server keeps the first copy
    await conn.request("send", { to: TEAM, mid: "mid-third-00001" }, s2.body);
    await eventually(
      () => ["second", "third"].every((x) => bi.msgs.some((m) => m.text === x)),
      5000,
      "bob reads what the handed-out key sealed",
    );
    assert.equal((await seal("mid-fourth-0001", "fourth")).handouts?.length, 0, "handed out: no more");
    assert.ok(!bi.notices.some((n) => /could not|cannot read/i.test(n)), bi.notices.join("\n"));
  } finally {
    await t.stop();
  }
});

Deno.test("handouts: ChatClient.send sends the sender key to the member before the message, both through the link", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const bi = inbox(b.client);
    for (const x of [a, b]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob"]);
    const conn = a.client.conn, real = conn.request.bind(conn);
    const sends: string[] = [], linked: string[] = [];
    conn.request = (kind, fields, body) => {
      if (kind === "send") sends.push(JSON.stringify(fields?.to));
      return real(kind, fields, body);
    };
    const link = a.client.link, viaLink = link.send.bind(link);
    link.send = (to, mid, body, o) => (linked.push(JSON.stringify(to)), viaLink(to, mid, body, o));
    await a.client.send(TEAM, "hello team");
    assert.deepEqual(sends, [JSON.stringify({ kind: "user", name: "bob" }), JSON.stringify(TEAM)]);
    assert.deepEqual(
      linked,
      sends,
      "the handout leaves through the link, as the message does (core/link.ts)",
    );
    await eventually(() => bi.msgs.some((m) => m.text === "hello team"), 5000, "bob reads");
  } finally {
    await t.stop();
  }
});
