/** `--server a:9797,b:9797` (issue 16): the client tries the nodes in order and moves on when one is down. */
import assert from "node:assert/strict";
import { loginAgain } from "../lib/client/start/login_again.ts";
import { connectAndLogin, openPinned, resolveTarget, storePath } from "../lib/client/start/session_setup.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { clusterSkip, freePort } from "./cluster_harness.ts";
import { eventually, startTestServer } from "./helpers.ts";
import { startTestCluster } from "./topology.ts";

const env = (m: Record<string, string>) => ({ get: (n: string) => m[n] });

Deno.test("resolveTarget: a comma list names every node in order; one server stays as before", () => {
  const t = resolveTarget({}, env({ PARLEY_SERVER: "a.example:9001, [::1]:9002,c", HOME: "/h" }));
  assert.deepEqual([t.host, t.port, t.server], ["a.example", 9001, "a.example:9001"]);
  assert.deepEqual(t.nodes, [{ host: "a.example", port: 9001 }, { host: "::1", port: 9002 }, {
    host: "c",
    port: 9797,
  }]);
  assert.equal(resolveTarget({ server: "x:1" }, env({})).nodes, undefined);
  assert.throws(() => resolveTarget({ server: "x:1,y:99999" }, env({})), { code: "bad_server" });
});

Deno.test("openPinned: a node that is down is skipped for the next one in the list", async () => {
  const t = await startTestServer();
  const home = await Deno.makeTempDir({ prefix: "parley-list-" });
  try {
    const dead = await freePort();
    const fingerprint = await fingerprintPem(t.cert);
    const r = resolveTarget({ server: `127.0.0.1:${dead},127.0.0.1:${t.port}`, home }, env({}));
    const { conn } = await openPinned(r, { fingerprint }, {});
    await conn.close();
    const only = resolveTarget({ server: `127.0.0.1:${dead}`, home }, env({}));
    await assert.rejects(openPinned(only, { fingerprint }, {}), { code: "unreachable" });
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});

const password = (user: string) => env({ PARLEY_PASSWORD: `pw-${user}-secret` });
const texts = (ms: { text: string }[]) => ms.map((m) => m.text);

Deno.test({
  name:
    "a server list (issue 34.3): pinned through node 1 only, the client fails over to node 2 presenting the same certificate, history intact; node 2 alone then works from the same folder",
  ignore: clusterSkip !== null,
}, async () => {
  const t = await startTestCluster();
  const home = await Deno.makeTempDir({ prefix: "parley-nodes-" });
  const bobHome = await Deno.makeTempDir({ prefix: "parley-nodes-bob-" });
  let backend: ChatClient | null = null;
  try {
    const [n1, n2] = [`127.0.0.1:${t.nodes[0]!.port}`, `127.0.0.1:${t.nodes[1]!.port}`];
    const bobTo = { kind: "user" as const, name: "bob" };
    // First contact through node 1 alone: only its address is pinned.
    const first = await connectAndLogin(
      { server: n1, user: "alice", home, trustOnFirstUse: true },
      password("alice"),
      {},
      {
        register: true,
      },
    );
    await first.close();
    const bob = await connectAndLogin(
      { server: n1, user: "bob", home: bobHome, trustOnFirstUse: true },
      password("bob"),
      {},
      {
        register: true,
      },
    );
    await bob.close();

    const list = { server: `${n1},${n2}`, user: "alice", home };
    const client = await connectAndLogin(list, password("alice"), {}, {});
    assert.equal(client.server, n1);
    backend = client;
    client.reconnect = () => loginAgain(list, password("alice"));
    await backend.start();
    await backend.send(bobTo, "through node 1");

    await t.nodes[0]!.shutdown(); // node 1 dies; the client reconnects by itself after its back-off
    const b = backend;
    const online = () => b.feed.info().some(([k, v]) => k === "connection" && v === "online");
    await eventually(() => b.server === n2 && online(), 15_000, "reconnected through node 2");
    const sent = await backend.send(bobTo, "through node 2");
    assert.ok(!sent.pending && sent.seq > 0, "sent through node 2");
    assert.deepEqual(texts(await backend.history(bobTo)), ["through node 1", "through node 2"]);
    await backend.close();
    backend = null;

    // Node 2 alone, from the same folder: the same keys and history (no "keys from another folder").
    const alone = await connectAndLogin({ server: n2, user: "alice", home }, password("alice"), {}, {});
    backend = alone;
    assert.equal(alone.server, n2);
    assert.deepEqual(texts(await backend.history(bobTo)), ["through node 1", "through node 2"]);
    await backend.send(bobTo, "node 2 alone");
    const bobAgain = await connectAndLogin(
      { server: `${n1},${n2}`, user: "bob", home: bobHome },
      password("bob"),
      {},
      {},
    );
    const got = bobAgain;
    await got.start();
    await eventually(
      async () => texts(await got.history({ kind: "user", name: "alice" })).includes("node 2 alone"),
      10_000,
      "bob read alice's messages",
    );
    await got.close();
    await backend.close();
    backend = null;

    // A login remembered through node 2 serves node 3 too (no password given here).
    const kept = await connectAndLogin({ server: n2, user: "alice", home }, password("alice"), {}, {
      remember: true,
      keepHistory: false,
    });
    await kept.close();
    const n3 = `127.0.0.1:${t.nodes[2]!.port}`;
    const viaToken = await connectAndLogin({ server: `${n3},${n2}`, user: "alice", home }, env({}), {}, {
      remembered: true,
      keepHistory: false,
    });
    assert.equal(viaToken.server, n3);
    await viaToken.close();
  } finally {
    await backend?.close();
    await t.stop();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(bobHome, { recursive: true });
  }
});

Deno.test("a client folder keyed by the server's address (older versions) is adopted on first use", async () => {
  const t = await startTestServer();
  const home = await Deno.makeTempDir({ prefix: "parley-adopt-" });
  try {
    const flags = { server: `127.0.0.1:${t.port}`, user: "carol", home, trustOnFirstUse: true };
    const c = await connectAndLogin(flags, password("carol"), {}, { register: true });
    await connectAndLogin({ ...flags, user: "dave" }, password("dave"), {}, { register: true }).then((d) =>
      d.close()
    );
    const lb = c;
    await lb.send({ kind: "user", name: "dave" }, "kept");
    await lb.close();
    // The folder as an older version left it: the database named by the address typed.
    const now = await storePath(home, "carol", t.cert);
    const old = LocalStore.pathFor(home, "carol", `127.0.0.1:${t.port}`);
    await Deno.rename(now, old);
    const again = await connectAndLogin(flags, password("carol"), {}, {});
    const lb2 = again;
    try {
      assert.deepEqual(texts(await lb2.history({ kind: "user", name: "dave" })), ["kept"]);
      await lb2.send({ kind: "user", name: "dave" }, "after"); // same keys: the server takes them
      assert.ok(await Deno.stat(now).then(() => true), "renamed to the server's key");
      assert.equal(await Deno.stat(old).then(() => true, () => false), false);
    } finally {
      await lb2.close();
    }
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});
