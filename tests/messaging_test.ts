import assert from "node:assert/strict";
import type { BackendEvent, ChatMessage } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { eventually, startTestServer, testKdf, type TestServer } from "./helpers.ts";
import { topologyTest } from "./topology.ts";

const texts = (ms: ChatMessage[]) => ms.map((m) => m.text);

function inbox(c: { on: (l: (e: BackendEvent) => void) => () => void }): ChatMessage[] {
  const got: ChatMessage[] = [];
  c.on((e) => {
    if (e.type === "message") got.push(e.message);
  });
  return got;
}

topologyTest(
  "DM to an online user arrives live; the sender's ok carries seq and time",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      assert.deepEqual(await bob.sync(), []);
      const got = inbox(bob);
      const sent = await alice.send({ kind: "user", name: "Bob" }, "hi bob");
      assert.ok(sent.seq > 0);
      await eventually(() => got.length === 1, 3000, "live DM");
      assert.equal(got[0]!.from, "alice");
      assert.deepEqual(got[0]!.to, { kind: "user", name: "bob" });
      assert.equal(got[0]!.text, "hi bob");
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "offline DMs are queued, delivered in order on login and removed only after ack",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const bob0 = await t.client("bob");
      await bob0.close();
      const alice = await t.client("alice");
      for (let i = 0; i < 20; i++) await alice.send({ kind: "user", name: "bob" }, `m${i}`);
      const bob1 = await t.client("bob", { register: false });
      const first = await bob1.sync();
      assert.deepEqual(texts(first), Array.from({ length: 20 }, (_, i) => `m${i}`));
      await bob1.close(); // no ack: everything must come again
      const bob2 = await t.client("bob", { register: false });
      const again = await bob2.sync();
      assert.equal(again.length, 20);
      await bob2.ack(again.slice(0, 5));
      await bob2.close();
      const bob3 = await t.client("bob", { register: false });
      const rest = await bob3.sync();
      assert.deepEqual(texts(rest), Array.from({ length: 15 }, (_, i) => `m${i + 5}`));
    } finally {
      await t.stop();
    }
  },
);

topologyTest("a message sent during sync is delivered exactly once", async (startTestServer) => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    for (let i = 0; i < 50; i++) await alice.send({ kind: "user", name: "bob" }, `q${i}`);
    const live = inbox(bob);
    const [queued] = await Promise.all([
      bob.sync(),
      (async () => {
        for (let i = 0; i < 50; i++) await alice.send({ kind: "user", name: "bob" }, `l${i}`);
      })(),
    ]);
    await eventually(() => queued.length + live.length >= 100, 3000, "all messages");
    const all = [...texts(queued), ...texts(live)];
    assert.equal(all.length, 100);
    assert.equal(new Set(all).size, 100);
  } finally {
    await t.stop();
  }
});

topologyTest(
  "broadcast reaches every online user and is queued for offline ones",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const carol0 = await t.client("carol");
      await carol0.close();
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      await bob.sync();
      const got = inbox(bob);
      await alice.send({ kind: "broadcast" }, "hello everyone");
      await eventually(() => got.length === 1, 3000, "broadcast");
      assert.deepEqual(got[0]!.to, { kind: "broadcast" });
      const carol = await t.client("carol", { register: false });
      assert.deepEqual(texts(await carol.sync()), ["hello everyone"]);
      assert.deepEqual(texts(await bob.history({ kind: "broadcast" })), ["hello everyone"]);
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "rooms: members get messages, non-members are refused, history since a time, invite and leave",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      const carol = await t.client("carol");
      const dave = await t.client("dave");
      for (const c of [alice, bob, carol, dave]) await c.sync();
      const room = await alice.commands.createRoom("Dev", ["bob", "carol"]);
      assert.deepEqual(room.members.sort(), ["alice", "bob", "carol"]);
      assert.deepEqual(room.admins, ["alice"]);
      await assert.rejects(alice.commands.createRoom("dev", []), { code: "room_exists" });
      await assert.rejects(alice.commands.createRoom("x", ["nobody"]), { code: "no_such_user" });
      const bobGot = inbox(bob);
      const one = await alice.send({ kind: "room", name: "dev" }, "one");
      // The cut: the first millisecond after "one" was stamped ("two" is stamped at it or later).
      while (Date.now() <= one.ts) await new Promise((r) => setTimeout(r, 1));
      const cut = Date.now();
      await carol.send({ kind: "room", name: "dev" }, "two");
      await eventually(() => bobGot.length === 2, 3000, "room messages");
      await assert.rejects(dave.send({ kind: "room", name: "dev" }, "let me in"), { code: "not_member" });
      await assert.rejects(dave.history({ kind: "room", name: "dev" }), { code: "not_member" });
      await assert.rejects(bob.commands.invite("dev", "dave"), { code: "forbidden" });
      assert.deepEqual(texts(await bob.history({ kind: "room", name: "dev" }, cut)), ["two"]);
      assert.deepEqual(texts(await bob.history({ kind: "room", name: "dev" })), ["one", "two"]);
      await alice.commands.invite("dev", "dave");
      assert.deepEqual(
        texts(await dave.history({ kind: "room", name: "dev" })),
        [],
        "no history from before joining",
      );
      await bob.commands.leave("dev");
      await assert.rejects(bob.send({ kind: "room", name: "dev" }, "bye"), { code: "not_member" });
      assert.deepEqual((await bob.commands.roomList()).map((r) => r.name), []);
      assert.deepEqual((await dave.commands.roomList()).map((r) => r.name), ["dev"]);
      await assert.rejects(bob.send({ kind: "room", name: "nope" }, "x"), { code: "no_such_room" });
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "who lists online users with active since and status (addresses only for admins)",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      await bob.setStatus("busy");
      // On several nodes, presence reaches the others a moment later.
      const w = (await eventually(
        async () => {
          const w = await alice.who();
          return w.length === 2 && w[1]!.status === "busy" ? w : null;
        },
        3000,
        "bob busy in who",
      ))!;
      assert.deepEqual(w.map((p) => p.user), ["alice", "bob"]);
      assert.equal(w[1]!.status, "busy");
      assert.equal(w[0]!.addr, "", "a non-admin sees no addresses");
      assert.ok(w[0]!.since <= Date.now());
      assert.equal((await alice.whois("bob"))?.status, "busy");
      await assert.rejects(alice.send({ kind: "user", name: "ghost" }, "x"), { code: "no_such_user" });
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "message bodies are opaque: binary bodies relay byte-exact and never reach the log",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      await bob.sync();
      const got = inbox(bob);
      await alice.send({ kind: "user", name: "bob" }, "SECRET-PLAINTEXT-42 \u0000\u001b[31m");
      await eventually(() => got.length === 1);
      assert.equal(got[0]!.text, "SECRET-PLAINTEXT-42 \u0000\u001b[31m");
      assert.ok(!t.lines.some((l) => l.includes("SECRET-PLAINTEXT")));
    } finally {
      await t.stop();
    }
  },
);

/** A new user's synced client on the node that serves `user` (clients go round-robin over the nodes). */
async function syncedBeside(t: TestServer, user: string): Promise<ChatClient> {
  const node = t.nodes.find((n) => n.hub.byUser.has(user))!;
  for (let i = 0; i < t.nodes.length; i++) {
    const c = await t.client(`beside${i}`);
    if (node.hub.byUser.has(`beside${i}`)) return (await c.sync(), c);
  }
  throw new Error(`no client landed on ${user}'s node`);
}

topologyTest(
  "/info deliveries counts frames queued to sessions, not frames dropped before a sync",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob"); // logged in, not synced: delivery mode "none"
      const m = t.srv.core.messages; // alice's node stores; bob's node delivers (the same one on one server)
      const deliveries = () => t.nodes.reduce((n, x) => n + x.core.messages.deliveries, 0);
      const fence = await syncedBeside(t, "bob"); // a live session on bob's node
      const fi = inbox(fence);
      await alice.send({ kind: "user", name: "bob" }, "while bob has not synced");
      assert.equal(m.stored, 1);
      // The fence: bob's node fans messages out in seq order, so once the next one reaches the
      // session beside bob, the first one's fan-out is over.
      await alice.send({ kind: "user", name: fence.user }, "fence");
      await eventually(() => fi.length === 1 || null, 3000, "the fence");
      assert.equal(
        deliveries(),
        1,
        "a frame dropped for a session in mode none is no delivery (the fence is one)",
      );
      const bi = inbox(bob);
      await bob.sync(); // from the offline queue, not a live push
      await alice.send({ kind: "user", name: "bob" }, "live");
      await eventually(() => bi.some((x) => x.text === "live"), 3000, "bob's live message");
      assert.equal(deliveries(), 2);
    } finally {
      await t.stop();
    }
  },
);

Deno.test("a tick of logins reaches the real client in the short presence form, each online since its login", async () => {
  const t = await startTestServer();
  try {
    const conn = await t.connect();
    const pushed: Record<string, unknown>[] = [];
    conn.onPush((f) => void pushed.push(f.header));
    const alice = await ChatClient.login({
      conn,
      server: `127.0.0.1:${t.port}`,
      user: "alice",
      password: "pw-alice-secret",
      register: true,
      kdf: testKdf,
    });
    const events: BackendEvent[] = [];
    alice.on((e) => void (e.type === "presence" && events.push(e)));
    await alice.sync(); // live: presence comes
    t.srv.hub.flushPresence(); // alice's own login, if its tick had not gone yet
    await alice.who(); // a fence: its answer comes after every push the flush wrote
    pushed.length = events.length = 0;
    const now = Date.now();
    t.srv.hub.presence({ user: "bob", online: true, status: "free", since: now - 200 });
    t.srv.hub.presence({ user: "carol", online: true, status: "busy", since: now - 100 });
    t.srv.hub.presence({ user: "dave", online: true, status: "free", since: now });
    t.srv.hub.flushPresence();
    await eventually(() => events.length === 3, 3000, "three presence events");
    const frame = pushed.find((h) => h.t === "presences");
    assert.deepEqual(frame, {
      t: "presences",
      at: now,
      on: ["bob", ["carol", "busy", now - 100], "dave"],
      off: [],
    });
    const seen = events.map((e) => e.type === "presence" && [e.user, e.presence?.status, e.presence?.since]);
    // bob is shown online from `at`: 200 ms late, within the short form's second.
    assert.deepEqual(seen, [["bob", "free", now], ["carol", "busy", now - 100], ["dave", "free", now]]);
    await alice.close();
  } finally {
    await t.stop();
  }
});
