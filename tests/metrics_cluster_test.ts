/**
 * `--metrics` on a cluster (issue 38 item 2): two spawned nodes on a throwaway PostgreSQL and NATS
 * report 2 nodes and the bus up, /healthz is 200 with `bus=ok`; once NATS is gone /healthz answers
 * 503 and `parley_bus_up` is 0, and SIGTERM still stops both nodes (their bus drain used to wait for
 * NATS for ever). Skipped (with the reason) where postgres or nats-server is missing.
 */
import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { clusterSkip, freePort, startNats, startPostgres } from "./cluster_harness.ts";
import { spawnNode } from "./cluster_spawn.ts";
import { eventually } from "./helpers.ts";

async function gauge(port: number, name: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const fams = parsePrometheus(text) as { name: string; metrics: { value: string }[] }[];
  const v = fams.find((f) => f.name === name)?.metrics[0]?.value;
  return v === undefined ? null : Number(v);
}

async function health(port: number): Promise<[number, string]> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return [r.status, (await r.text()).trim()];
}

Deno.test({
  name: "metrics: a cluster node reports its nodes and bus; /healthz is 503 once NATS is gone",
  ignore: clusterSkip !== null,
  async fn() {
    const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    const dir = await Deno.makeTempDir({ prefix: "parley-metrics-cluster-" });
    const url = await pg.newDatabase();
    const [ma, mb] = [await freePort(), await freePort()];
    const a = await spawnNode(dir, url, nats.url, { args: ["--metrics", `127.0.0.1:${ma}`] });
    const b = await spawnNode(dir, url, nats.url, { args: ["--metrics", `127.0.0.1:${mb}`] });
    let natsUp = true;
    try {
      assert.deepEqual(await health(ma), [200, "ok store=ok bus=ok"]);
      await eventually(async () => (await gauge(ma, "parley_cluster_nodes")) === 2, 10_000, "two nodes");
      assert.equal(await gauge(ma, "parley_bus_up"), 1);
      await nats.stop();
      natsUp = false;
      const [code, text] = await health(ma);
      assert.equal(code, 503);
      assert.match(text, /^unhealthy store=ok bus=\S/);
      assert.equal(await gauge(ma, "parley_bus_up"), 0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      if (natsUp) await nats.stop();
      await pg.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
