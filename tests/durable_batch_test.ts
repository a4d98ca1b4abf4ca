/**
 * Durability of the group commit (issue 37): many DMs in flight from many senders share commits;
 * the server is killed with SIGKILL the moment the 300th `ok` arrives (mid-flood). After a restart
 * of the store, every message whose `ok` came, and every message that was delivered to its
 * recipient, is on disk: an ok or a delivery released before its batch's commit fails this test.
 */
import assert from "node:assert/strict";
import { spawnServerProcess } from "./helpers.ts";
import { withDeadline } from "./deadline.ts";
import { seed, tokenOf } from "./bench/bench_server.ts";
import { LoadConn } from "./bench/load_client.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";

// PER: enough that the kill lands mid-flood on a fast server (at 200, 4,000 of 4,000 were stored once the
// message log made commits cheaper: the kill, sent by this busy process, came after the last).
const PAIRS = 20, PER = 1000, KILL_AT = 300;

Deno.test("kill -9 during a flood of batched DMs: every acknowledged or delivered message is on disk", async () => {
  await withDeadline(90_000, "durable batch", async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-durable-" });
    const senders = Array.from({ length: PAIRS }, (_, i) => `snd${i}`);
    const receivers = Array.from({ length: PAIRS }, (_, i) => `rcv${i}`);
    await seed(dir, [...senders, ...receivers]);
    const srv = await spawnServerProcess(dir, {
      args: ["--msg-rate", "0", "--login-rate", "0", "--log-level", "warn"],
    });
    const conns: LoadConn[] = [];
    try {
      const acked: [string, string][] = [];
      const delivered: [string, string][] = [];
      const refused: string[] = [];
      let killed = false, replies = 0;
      const kill = () => {
        if (killed) return;
        killed = true;
        srv.child.kill("SIGKILL");
      };
      for (const r of receivers) {
        const c = await LoadConn.open(srv.port, srv.cert);
        conns.push(c);
        await c.login(r, tokenOf(r));
        c.onMsg = (f) => delivered.push([String(f.header.from), String(f.header.mid)]);
        await c.ok("sync");
      }
      const outs: LoadConn[] = [];
      for (const s of senders) {
        const c = await LoadConn.open(srv.port, srv.cert);
        conns.push(c), outs.push(c);
        await c.login(s, tokenOf(s));
      }
      const body = new Uint8Array(100).fill(0x41);
      outs.forEach((c, i) => {
        for (let k = 0; k < PER; k++) {
          const mid = `dur${i}-${k}`.padEnd(8, "_");
          void c.request("send", { to: { kind: "user", name: receivers[i] }, mid }, body).then((f) => {
            if (f.header.t !== "ok" && !killed) refused.push(String(f.header.msg));
            // Never hangs: should every reply come without reaching KILL_AT, the asserts below say so.
            if (++replies === PAIRS * PER) kill();
            if (killed || f.header.t !== "ok") return;
            acked.push([senders[i]!, mid]);
            // Killed the moment this ok arrives: nothing after it could have been written for it.
            if (acked.length === KILL_AT) kill();
          });
        }
      });
      await srv.child.status;
      assert.ok(killed, "the server was killed by the test");
      assert.deepEqual(refused.slice(0, 3), [], "every send was taken");
      const store = new SqliteStore(`${dir}/parley.db`);
      try {
        const stored = (await store.stats()).messages;
        assert.ok(stored < PAIRS * PER, `killed mid-flood (${stored} of ${PAIRS * PER} stored)`);
        for (const [from, mid] of acked) {
          assert.ok(await store.seqOf(from, mid), `acknowledged ${from}/${mid} is on disk`);
        }
        for (const [from, mid] of delivered) {
          assert.ok(await store.seqOf(from, mid), `delivered ${from}/${mid} is on disk`);
        }
        assert.equal(acked.length, KILL_AT);
      } finally {
        await store.close();
      }
    } finally {
      for (const c of conns) c.close();
      await srv.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
});
