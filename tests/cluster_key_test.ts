/**
 * The cluster key (issue 33 item 2): made in the data folder on first start (0600) and reused, a
 * given key file read as is, a malformed one refused with the fix; spawned nodes with different keys
 * do not join each other's cluster and say why in their log.
 */
import assert from "node:assert/strict";
import { newClusterKeyText } from "../lib/server/bus/seal.ts";
import { loadClusterKey } from "../lib/server/data_dir.ts";
import { clusterSkip, freePort, startNats, startPostgres } from "./cluster_harness.ts";
import { login, spawnNode } from "./cluster_spawn.ts";
import { eventually } from "./helpers.ts";

Deno.test("cluster key: made on first start in the data folder (0600, 32 bytes), then reused; a bad or missing file given is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-key-" });
  try {
    const a = await loadClusterKey(dir);
    assert.equal(a.created, true);
    assert.equal(a.key.length, 32);
    assert.match(await Deno.readTextFile(`${dir}/cluster.key`), /^[0-9a-f]{64}\n$/);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/cluster.key`)).mode! & 0o777, 0o600);
    }
    const b = await loadClusterKey(dir);
    assert.equal(b.created, false);
    assert.deepEqual(b.key, a.key);
    await Deno.writeTextFile(`${dir}/given.key`, newClusterKeyText().toUpperCase());
    assert.equal((await loadClusterKey(dir, `${dir}/given.key`)).key.length, 32);
    await Deno.writeTextFile(`${dir}/bad.key`, "secret\n");
    await assert.rejects(loadClusterKey(dir, `${dir}/bad.key`), /64 hex digits.*openssl rand -hex 32/);
    await assert.rejects(loadClusterKey(dir, `${dir}/none.key`), /none\.key/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster key (issue 69 S3): none is made when the store already knows other nodes; the error names the file to copy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-key-" });
  try {
    await assert.rejects(
      loadClusterKey(dir, undefined, ["node-1-ab"]),
      (e: Error) =>
        /other nodes \(node-1-ab\)/.test(e.message) && e.message.includes(`copy cluster.key`) &&
        e.message.includes(`${dir}/cluster.key`),
    );
    await assert.rejects(Deno.stat(`${dir}/cluster.key`), Deno.errors.NotFound, "no key of its own");
    assert.equal((await loadClusterKey(dir)).created, true, "the first node of a store makes one");
    assert.equal((await loadClusterKey(dir, undefined, ["node-1-ab"])).created, false, "a key there is used");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "nodes (issue 69 S3, the attack): a node started with --bus and no key beside a running cluster refuses to start; one with another key fails /healthz",
  ignore: clusterSkip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-key-s3-" });
    const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    const nodes: Awaited<ReturnType<typeof spawnNode>>[] = [];
    try {
      const store = await pg.newDatabase();
      nodes.push(await spawnNode(dir, store, nats.url));
      await assert.rejects(
        spawnNode(dir, store, nats.url, { keyFile: "" }), // its data folder has no cluster.key
        (e: Error) =>
          /cluster key .*cluster\.key: none here, and this store already knows other nodes/.test(e.message),
      );
      await Deno.writeTextFile(`${dir}/other.key`, newClusterKeyText());
      const metrics = await freePort();
      const args = ["--metrics", `127.0.0.1:${metrics}`];
      nodes.push(await spawnNode(dir, store, nats.url, { keyFile: `${dir}/other.key`, args }));
      const health = async () => {
        const h = await fetch(`http://127.0.0.1:${metrics}/healthz`);
        return `${h.status} ${await h.text()}`;
      };
      let last = "";
      for (let i = 0; i < 40 && !last.startsWith("503"); i++) {
        await new Promise((r) => setTimeout(r, 250)); // node 1's heartbeats, every second
        last = await health();
      }
      assert.match(last, /^503 unhealthy store=ok bus=\d+ bus envelopes under another cluster key/);
    } finally {
      for (const n of nodes) await n.stop();
      await Promise.all([pg.stop(), nats.stop()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nodes: two server.ts nodes with different cluster keys do not join; the log says to copy the key",
  ignore: clusterSkip !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-key-nodes-" });
    const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    const nodes: Awaited<ReturnType<typeof spawnNode>>[] = [];
    try {
      const store = await pg.newDatabase();
      await Deno.writeTextFile(`${dir}/other.key`, newClusterKeyText());
      const metrics = await freePort();
      nodes.push(await spawnNode(dir, store, nats.url, { args: ["--metrics", `127.0.0.1:${metrics}`] }));
      nodes.push(await spawnNode(dir, store, nats.url, { keyFile: `${dir}/other.key` }));
      // Node 1's count of envelopes refused as under another key (its health check, last minute).
      const refused = async () => {
        const h = await (await fetch(`http://127.0.0.1:${metrics}/healthz`)).text();
        return Number(/bus=(\d+) bus envelopes under another cluster key/.exec(h)?.[1] ?? 0);
      };
      const alice = await login(nodes[0]!.port, "alice", true);
      const bob = await login(nodes[1]!.port, "bob", true);
      try {
        await Promise.all([alice.sync(), bob.sync()]);
        // Event: node 1 refused two more of node 2's envelopes, the later sent after bob was in
        // (node 2 announces its users on each heartbeat, every second).
        const before = await refused();
        await eventually(
          async () => (await refused()) >= before + 2,
          10_000,
          "node 1 refusing node 2's news",
        );
        assert.deepEqual((await alice.who()).map((p) => p.user), ["alice"]);
      } finally {
        await alice.close();
        await bob.close();
      }
      const logs = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("node-"))
        .map((e) => Deno.readTextFileSync(`${dir}/${e.name}/parley.log`));
      assert.ok(
        logs.every((l) => /ERROR bus\.refused .*bad key or tampered/.test(l)),
        "each node logs the refusals, as an error (issue 69 S3)",
      );
      assert.ok(logs.every((l) => l.includes("same cluster key")));
    } finally {
      for (const n of nodes) await n.stop();
      await Promise.all([pg.stop(), nats.stop()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
