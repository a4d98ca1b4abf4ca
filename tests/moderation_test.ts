import assert from "node:assert/strict";
import { runConsoleLine } from "../lib/server/console.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import type { BackendEvent } from "../lib/client/backend.ts";
import { eventually, startTestServer } from "./helpers.ts";
import { startTestCluster, topologyTest } from "./topology.ts";
import { clusterSkip } from "./cluster_harness.ts";

function lastEvent(c: { on: (l: (e: BackendEvent) => void) => () => void }, type: string) {
  const box: { e: BackendEvent | null } = { e: null };
  c.on((e) => {
    if (e.type === type) box.e = e;
  });
  return box;
}

topologyTest(
  "non-admins are refused admin commands and the refusal is logged and audited",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const mallory = await t.client("mallory");
      await t.client("bob");
      await assert.rejects(mallory.commands.kick("bob"), { code: "forbidden" });
      await assert.rejects(mallory.commands.grant("mallory"), { code: "forbidden" });
      await assert.rejects(mallory.commands.kicked(), { code: "forbidden" });
      assert.ok(
        t.lines.some((l) => l.includes("WARN denied user=mallory") && l.includes("command=admin.kick")),
      );
      assert.ok(
        (await t.srv.core.store.listAudit(10)).some((a) => a.actor === "mallory" && a.action === "denied"),
      );
    } finally {
      await t.stop();
    }
  },
);

topologyTest(
  "admin kick disconnects with a reason; ban refuses login until it ends; kicked list shows both",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      assert.equal(await runConsoleLine(t.srv, "/grant alice"), "alice is now an admin");
      const bob = await t.client("bob");
      const bye = lastEvent(bob, "disconnected");
      await alice.commands.kick("bob");
      await eventually(() => bye.e, 3000, "kick");
      assert.deepEqual(bye.e, { type: "disconnected", code: "kicked", reason: "You were kicked by alice" });
      const bob2 = await t.client("bob", { register: false });
      const bye2 = lastEvent(bob2, "disconnected");
      await alice.commands.kick("bob", 60, "spamming"); // the client gives a reason too, as the console does
      await eventually(() => bye2.e, 3000, "ban");
      assert.equal((bye2.e as { code: string }).code, "banned");
      assert.match(
        (bye2.e as { reason: string }).reason,
        /until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 1 min\): spamming$/,
      );
      const refused = await t.client("bob", { register: false }).catch((e) => e);
      assert.equal(refused.code, "banned");
      assert.match(refused.message, /^You are banned until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 1 min\)$/); // local, not UTC ISO
      const ks = await alice.commands.kicked();
      assert.equal(ks.length, 2);
      assert.ok(ks[0]!.bannedUntil && !ks[1]!.bannedUntil);
      assert.deepEqual((await t.srv.core.store.listAudit(10)).map((a) => a.action).slice(0, 2), [
        "ban",
        "kick",
      ]);
      assert.match(await runConsoleLine(t.srv, "/unban bob"), /Lifted the ban on bob/);
      (await t.client("bob", { register: false })).close();
    } finally {
      await t.stop();
    }
  },
);

topologyTest("grant and revoke; the last admin cannot be demoted", async (startTestServer) => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await runConsoleLine(t.srv, "/grant alice");
    const bob = await t.client("bob");
    await alice.commands.grant("bob");
    await eventually(
      () => bob.role === "admin",
      3000,
      "bob told he is an admin (from another node on three)",
    );
    await bob.commands.revoke("alice");
    await assert.rejects(bob.commands.revoke("bob"), { code: "last_admin" });
    await assert.rejects(alice.commands.kick("bob"), { code: "forbidden" });
    assert.match(await runConsoleLine(t.srv, "/revoke bob"), /last admin/);
  } finally {
    await t.stop();
  }
});

Deno.test("an admin demoted beside the running server (offline `admin revoke`) is refused at once and told", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await runConsoleLine(t.srv, "/grant alice");
    await eventually(() => alice.role === "admin", 3000, "alice told she is an admin");
    await t.client("bob");
    // `parley-server admin revoke alice` writes the store alone: no session here hears of it.
    await t.srv.core.store.setRole("alice", "user");
    await assert.rejects(alice.commands.kick("bob"), { code: "forbidden" });
    await eventually(() => alice.role === "user", 3000, "alice's client told she is no admin");
  } finally {
    await t.stop();
  }
});

Deno.test({
  name:
    "3 nodes: an admin demoted elsewhere is refused admin commands at once, before the bus tells this node",
  ignore: clusterSkip !== null,
  async fn() {
    const t = await startTestCluster();
    try {
      const alice = await t.client("alice");
      await runConsoleLine(t.srv, "/grant alice");
      await eventually(() => alice.role === "admin", 3000, "alice told she is an admin");
      const bob = await t.client("bob");
      // The demotion as another node makes it, its bus event not yet here: only the store knows.
      await t.srv.core.store.setRole("alice", "user");
      await assert.rejects(alice.commands.kick("bob"), { code: "forbidden" });
      assert.equal(bob.conn.closed, false);
    } finally {
      await t.stop();
    }
  },
});

topologyTest(
  "console: /users /active /info /kick /broadcast /kicked /help and unknown commands",
  async (startTestServer) => {
    const t = await startTestServer();
    try {
      const alice = await t.client("alice");
      const bob = await t.client("bob");
      await bob.sync();
      const notice = lastEvent(bob, "notice");
      assert.match(await runConsoleLine(t.srv, "/users"), /alice\s+user\s+online/);
      // On three nodes bob's presence reaches node 1 with the bus, a moment after his sync.
      const active = await eventually(
        async () => {
          const out = await runConsoleLine(t.srv, "/active");
          return /bob\s+127\.0\.0\.1:\d+\s+since \d{4}-/.test(out) ? out : null;
        },
        3000,
        "bob in /active",
      );
      assert.match(active ?? "", /bob\s+127\.0\.0\.1:\d+\s+since \d{4}-/);
      const info = await runConsoleLine(t.srv, "/info");
      const here = t.nodes.length === 1 ? 2 : 1; // on three nodes bob is connected to node 2
      for (const k of [`connections: ${here}`, "uptime_s:", "rss_mb:", "queued_bytes:", "store_queue:"]) {
        assert.ok(info.includes(k), k);
      }
      assert.match(await runConsoleLine(t.srv, "/broadcast maintenance at noon"), /Announced/);
      await eventually(() => notice.e, 3000, "notice");
      assert.equal((notice.e as { text: string }).text, "[console] maintenance at noon");
      assert.match(await runConsoleLine(t.srv, "/kick alice 30 spamming"), /Banned alice until/);
      assert.match(await runConsoleLine(t.srv, "/kicked"), /alice by console banned until .* — spamming/);
      await eventually(() => alice.conn.closed, 3000, "alice gone");
      assert.match(await runConsoleLine(t.srv, "/help"), /\/shutdown/);
      assert.equal(await runConsoleLine(t.srv, "/nope"), "Unknown command /nope; type /help");
      assert.equal(await runConsoleLine(t.srv, "/kick"), "Usage: /kick USER [DURATION] [REASON…]");
      // Argument checks come from the table's usage: too few and too many words both answer it.
      assert.equal(await runConsoleLine(t.srv, "/unban"), "Usage: /unban USER");
      assert.equal(await runConsoleLine(t.srv, "/unlock bob carol"), "Usage: /unlock USER");
      assert.equal(await runConsoleLine(t.srv, "/info now"), "Usage: /info");
      assert.equal(await runConsoleLine(t.srv, "/broadcast"), "Usage: /broadcast TEXT…");
      assert.equal(await runConsoleLine(t.srv, "/kick ghost"), "Error: There is no user named ghost");
    } finally {
      await t.stop();
    }
  },
);

Deno.test("graceful shutdown tells every client, flushes queued messages and closes the store", async () => {
  const t = await startTestServer();
  const alice = await t.client("alice");
  const bob = await t.client("bob");
  await bob.sync();
  const bye = lastEvent(bob, "disconnected");
  const got: string[] = [];
  bob.on((e) => e.type === "message" && got.push(e.message.text));
  const sends = Array.from(
    { length: 50 },
    (_, i) => alice.send({ kind: "user", name: "bob" }, `s${i}`).catch(() => null),
  );
  await sends[0]; // shut down while the rest are still arriving: at least one is stored by then
  assert.equal(await runConsoleLine(t.srv, "/shutdown"), "Shut down");
  const accepted = (await Promise.all(sends)).filter((m) => m && m.seq > 0).length;
  assert.ok(accepted > 0);
  await eventually(() => bye.e, 3000, "bye");
  assert.equal((bye.e as { code: string }).code, "shutdown");
  assert.ok(t.lines.some((l) => l.includes("shutdown.done")));
  const reopened = new SqliteStore(`${t.dir}/parley.db`);
  assert.equal(
    (await reopened.history("d:alice:bob", 0, 0, 1000)).length,
    accepted,
    "every acknowledged message is stored",
  );
  await reopened.close();
  await t.stop();
});

Deno.test("console /db shows what the store holds: users, rooms, messages, bytes, its file and size (issue 34.10)", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    await alice.send({ kind: "user", name: "bob" }, "hello");
    const db = await runConsoleLine(t.srv, "/db");
    assert.match(db, new RegExp(`^store: ${t.dir}/parley\\.db \\(\\d+\\.\\d (KiB|MiB)\\)$`, "m"), db);
    assert.match(db, /^users: 2$/m);
    assert.match(db, /^rooms: 0$/m);
    assert.match(db, /^messages: 1 \(\d+\.\d KiB of sealed bodies\)$/m);
    // Every file of the store with its size, the WAL too (issue 68.9).
    for (const f of ["parley.db", "parley.db-wal", "parley.db-shm"]) {
      assert.match(
        db,
        new RegExp(`^file: ${t.dir}/${f.replace(/\./g, "\\.")} \\(\\d+\\.\\d (KiB|MiB)\\)$`, "m"),
        db,
      );
    }
    assert.match(await runConsoleLine(t.srv, "/help"), /\/db — what the store holds/);
  } finally {
    await t.stop();
  }
});
