/**
 * A change of one's own message whose `ok` never came (the connection dropped just after the server
 * stored it): at the next start the sync brings the other party's reaction before the outbox's
 * resend has confirmed the text. The change waits for that confirmation and then applies; it is
 * neither refused nor lost (issue 39, server mode; peer mode runs the same core/message_changes.ts).
 */
import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage } from "../lib/client/backend.ts";
import { eventually, startTestServer } from "./helpers.ts";

Deno.test("a reaction to my text whose ok was lost waits for the outbox's resend and applies", async () => {
  const t = await startTestServer();
  try {
    const home = `${t.dir}/alice-home`;
    const a = await t.e2eClient("alice", { home });
    const b = await t.e2eClient("bob");
    await b.client.sync();
    const got: ChatMessage[] = [];
    b.client.on((e) => e.type === "message" && got.push(e.message));
    await b.client.start();
    await a.client.start();
    // The server stores the text; its ok never reaches alice (her connection drops first).
    const conn = a.client.conn;
    const request = conn.request.bind(conn);
    conn.request = (async (k: string, h?: Record<string, unknown>, body?: Uint8Array) => {
      if (k !== "send" || h?.ephemeral) return await request(k, h, body);
      await request(k, h, body);
      await conn.close();
      throw new Error("connection lost");
    }) as typeof conn.request;
    await a.client.send({ kind: "user", name: "bob" }, "lunch at noon?").catch(() => {});
    assert.equal(a.store.outbox().length, 1, "the text waits in alice's outbox");
    await a.client.close();
    const sent = (await eventually(() => got.find((m) => m.text === "lunch at noon?"), 5000, "bob has it"))!;
    await b.client.changes.react(sent.mid, "👍");

    const again = await t.e2eClient("alice", { home, register: false });
    const events: BackendEvent[] = [];
    again.client.on((e) => events.push(e));
    await again.client.feed.catchUp();
    const changed = await eventually(
      () => events.find((e) => e.type === "message.changed" && e.message.mid === sent.mid),
      5000,
      "the reaction applied",
    );
    assert.ok(changed);
    assert.deepEqual(again.store.byMid("alice", sent.mid)?.reactions, { "👍": ["bob"] });
    assert.equal(again.store.outbox().length, 0, "confirmed by the resend");
    const refused = events.filter((e) => e.type === "notice" && /refused|could not|cannot/.test(e.text));
    assert.deepEqual(refused, []);
    await again.client.close();
  } finally {
    await t.stop();
  }
});
