/**
 * Encrypted rooms and broadcast through a real server: signed membership changes shown to every
 * member, a kicked member cannot decrypt what follows, a new member gets no earlier history, and
 * broadcast is a sender-key room of every registered user.
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../lib/client/backend.ts";
import { assertNoPlaintext, eventually, inbox } from "./helpers.ts";
import { topologyTest } from "./topology.ts";

topologyTest(
  "E2E rooms: a kicked member cannot decrypt room messages sent after the kick; the kick is signed",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice");
      const b = await t.e2eClient("bob");
      const c = await t.e2eClient("carol");
      const [bi, ci] = [inbox(b.client), inbox(c.client)];
      for (const x of [a, b, c]) await x.client.sync();
      await a.client.commands.createRoom("dev", ["bob", "carol"]);
      await a.client.send({ kind: "room", name: "dev" }, "before the kick");
      await eventually(() => ci.msgs.length === 1 && bi.msgs.length === 1, 3000, "first room message");
      await c.client.send({ kind: "room", name: "dev" }, "carol was here");
      await eventually(() => bi.msgs.length === 2, 3000, "carol's message");

      await a.client.commands.roomKick("dev", "carol");
      await eventually(
        () => bi.notices.some((n) => n.includes("alice removed carol from #dev")),
        3000,
        "kick",
      );
      assert.ok(
        bi.notices.some((n) => n === "alice removed carol from #dev (signed by alice, verified)"),
        bi.notices.join("\n"),
      );
      await eventually(
        () => ci.notices.some((n) => n.includes("removed carol")),
        3000,
        "carol sees the kick",
      );
      const after = await a.client.send({ kind: "room", name: "dev" }, "after the kick");
      const fromBob = await b.client.send({ kind: "room", name: "dev" }, "bob after the kick");
      await eventually(() => bi.msgs.some((m) => m.text === "after the kick"), 3000, "bob reads alice");
      // Carol gets the ciphertexts anyway (e.g. from a leaked database): she cannot decrypt them.
      const rows = await t.srv.core.store.history("r:dev", 0, 0, 100);
      for (const m of [after, fromBob]) {
        const row = rows.find((r) => r.seq === m.seq)!;
        const msg: ChatMessage = {
          seq: 10_000 + m.seq,
          mid: row.mid,
          ts: row.ts,
          from: row.sender,
          to: m.to,
          text: "",
        };
        await assert.rejects(
          () => c.codec.receive(msg, "r:dev", row.body),
          /No sender key|Unknown sender key/,
        );
      }
      assert.equal(ci.msgs.some((m) => m.text.includes("after the kick")), false);
      // An unsigned membership change (a server inventing one) is flagged: it is not in the room's log.
      const unsigned = {
        t: "room",
        room: "dev",
        members: ["alice", "bob"],
        admins: ["alice"],
        change: "joined",
        by: "alice",
        user: "mallory",
      };
      await b.codec.onPush(unsigned);
      assert.ok(
        bi.notices.some((n) =>
          n === "alice added mallory to #dev (not in #dev's signed membership log: ignored)"
        ),
        bi.notices.join("\n"),
      );
      const forged = {
        ...unsigned,
        signed: {
          change: { room: "dev", action: "join", target: "mallory", by: "alice", epoch: 0, at: 1 },
          signer: "AAAA",
          sig: "AAAA",
        },
      };
      await b.codec.onPush(forged);
      assert.ok(
        bi.notices.filter((n) => n.includes("added mallory to #dev (not in #dev's signed membership log"))
          .length === 2,
        bi.notices.join("\n"),
      );
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "E2E rooms: a new member reads what follows but no earlier history; a leave rotates the keys",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice");
      const b = await t.e2eClient("bob");
      const d = await t.e2eClient("dave");
      const [bi, di] = [inbox(b.client), inbox(d.client)];
      for (const x of [a, b, d]) await x.client.sync();
      await a.client.commands.createRoom("ops", ["bob"]);
      const early = await a.client.send({ kind: "room", name: "ops" }, "early secret");
      await a.client.commands.invite("ops", "dave");
      await eventually(
        () => di.notices.some((n) => n.includes("alice added dave to #ops (signed by alice, verified)")),
        3000,
        "invite",
      );
      await a.client.send({ kind: "room", name: "ops" }, "welcome dave");
      await eventually(() => di.msgs.some((m) => m.text === "welcome dave"), 3000, "dave reads");
      assert.equal(di.msgs.some((m) => m.text === "early secret"), false);
      const hist = await d.client.history({ kind: "room", name: "ops" }, 0);
      assert.deepEqual(hist.map((m) => m.text), ["welcome dave"]);
      const rows = await t.srv.core.store.history("r:ops", 0, 0, 100);
      const row = rows.find((r) => r.seq === early.seq)!;
      const msg: ChatMessage = {
        seq: 10_000,
        mid: row.mid,
        ts: row.ts,
        from: "alice",
        to: early.to,
        text: "",
      };
      await assert.rejects(() => d.codec.receive(msg, "r:ops", row.body));
      // dave leaves: alice's next message uses a new chain that dave never receives.
      const chain = (await a.codec.rooms.planSend("ops", ["alice", "bob", "dave"])).dist.chainId;
      await d.client.commands.leave("ops");
      await eventually(
        () => bi.notices.some((n) => n.includes("dave left #ops (signed by dave, verified)")),
        3000,
        "leave",
      );
      await a.client.send({ kind: "room", name: "ops" }, "after dave left");
      await eventually(() => bi.msgs.some((m) => m.text === "after dave left"), 3000, "bob reads");
      assert.notEqual((await a.codec.rooms.planSend("ops", ["alice", "bob"])).dist.chainId, chain);
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "E2E broadcast: a sender-key room of every registered user, offline users included",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const a = await t.e2eClient("alice");
      const b = await t.e2eClient("bob");
      const c0 = await t.e2eClient("carol");
      await c0.client.close();
      const bi = inbox(b.client);
      await b.client.sync();
      await a.client.send({ kind: "broadcast" }, "server restarts at noon");
      await a.client.send({ kind: "broadcast" }, "second notice");
      await eventually(() => bi.msgs.length === 2, 3000, "bob's broadcasts");
      assert.deepEqual(bi.msgs.map((m) => [m.to.kind, m.text]), [["broadcast", "server restarts at noon"], [
        "broadcast",
        "second notice",
      ]]);
      const c1 = await t.e2eClient("carol", { register: false });
      assert.deepEqual((await c1.client.sync()).map((m) => m.text), [
        "server restarts at noon",
        "second notice",
      ]);
      await assertNoPlaintext(
        t.dir,
        t.lines,
        ["server restarts at noon", "second notice"],
        t.shared,
        t.srv.core.store,
      );
    } finally {
      await t.stop();
    }
  },
);
