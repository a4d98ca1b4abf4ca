import assert from "node:assert/strict";
import { clusterSkip, startNats, startPostgres } from "./cluster_harness.ts";

Deno.test({
  name: "cluster harness: a throwaway PostgreSQL and nats-server start on free ports and stop by PID",
  ignore: clusterSkip !== null,
  async fn() {
    const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    try {
      const url = await pg.newDatabase();
      assert.match(url, /^postgres:\/\/parley@127\.0\.0\.1:\d+\/t\d+_\d+$/);
      const c = await Deno.connect({ hostname: "127.0.0.1", port: nats.port });
      const buf = new Uint8Array(512);
      const n = await c.read(buf);
      c.close();
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^INFO /);
    } finally {
      await Promise.all([pg.stop(), nats.stop()]);
    }
    let gone = false;
    try {
      Deno.kill(pg.pid, "SIGCONT");
    } catch {
      gone = true;
    }
    assert.ok(gone, "postgres stopped");
  },
});
