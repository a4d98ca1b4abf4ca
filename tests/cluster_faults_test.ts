/**
 * Nodes under faults (issue 74), spawned `server.ts` nodes on a throwaway PostgreSQL and NATS
 * (cluster_harness.ts, cluster_spawn.ts): SIGTERM ends a node within its stop bound while its
 * PostgreSQL is paused; during a PostgreSQL outage a send is answered `unavailable`, stays in the
 * sender's outbox and is delivered once after the outage.
 */
import assert from "node:assert/strict";
import { clusterSkip, fileEngines } from "./cluster_harness.ts";
import { login, spawnNode } from "./cluster_spawn.ts";

// The throwaway engines stop after the file's tests, whatever ran or failed (cluster_harness.ts).
const engines = fileEngines();
Deno.test.afterAll(engines.stop);

const ignore = clusterSkip !== null;

/** The parley.log of every node started in `dir` (cluster_spawn.ts makes their data folders there). */
async function nodeLog(dir: string): Promise<string> {
  let text = "";
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory && e.name.startsWith("node-")) {
      text += await Deno.readTextFile(`${dir}/${e.name}/parley.log`).catch(() => "");
    }
  }
  return text;
}

Deno.test({
  name:
    "faults: SIGTERM to a node whose PostgreSQL is paused ends it within --stop-timeout, naming what was pending",
  ignore,
  async fn() {
    const { pg, nats } = await engines.both();
    const dir = await Deno.makeTempDir({ prefix: "parley-faults-" });
    const url = await pg.newDatabase();
    const a = await spawnNode(dir, url, nats.url, { args: ["--stop-timeout", "3"] });
    let paused = false;
    try {
      const alice = await login(a.port, "alice", true);
      await alice.sync();
      await pg.pause();
      paused = true;
      const t0 = Date.now();
      a.child.kill("SIGTERM");
      const killer = setTimeout(() => a.child.kill("SIGKILL"), 15_000);
      const status = await a.child.status;
      clearTimeout(killer);
      const took = Date.now() - t0;
      assert.ok(took < 6000, `the node took ${took} ms to end after SIGTERM (bound 3 s)`);
      assert.equal(status.signal, null, "the node ended by itself, not by SIGKILL");
      assert.equal(status.code, 1, "a stop cut short by its bound exits 1");
      await alice.close().catch(() => {});
      const log = await nodeLog(dir) + await a.stderr;
      assert.match(log, /shutdown\.pending/, `the log names what was still pending: ${log.slice(-1500)}`);
    } finally {
      if (paused) await pg.resume();
      try {
        a.child.kill("SIGKILL");
      } catch { /* gone */ }
      await a.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
