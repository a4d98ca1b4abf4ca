/**
 * A disk that fails the database's writes under a running server process (issue 68 item 4): the
 * server runs with a file-size limit (`ulimit -f`, SIGXFSZ ignored), so once the WAL would grow past
 * it every write fails with EFBIG — an I/O error to SQLite, as a failing disk gives. The store breaks:
 * no more writes, `ERROR store.broken`, and the process exits 70 for its supervisor; a restart without
 * the limit recovers from the WAL with every acknowledged message, and takes sends again.
 */
import assert from "node:assert/strict";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { loginSpawned, spawnServerProcess } from "./helpers.ts";

const ARGS = ["--msg-rate", "0", "--login-rate", "0", "--register-rate", "0", "--register-rate-total", "0"];

const code = (p: Promise<unknown>) => p.then(() => "ok", (e) => (e as { code?: string }).code ?? String(e));

Deno.test("a disk failing the database's writes: the store breaks, the server says so and exits 70; a restart has every acknowledged message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-broken-" });
  try {
    // Accounts first, on a server without the limit.
    const first = await spawnServerProcess(dir, { args: ARGS });
    for (const u of ["alice", "bob"]) await (await loginSpawned(first.port, first.cert, u, true)).close();
    await first.stop();
    const srv = await spawnServerProcess(dir, { args: [...ARGS, "--min-free", "0"], fileLimitKiB: 2048 });
    const alice = await loginSpawned(srv.port, srv.cert, "alice", false);
    const acked: string[] = [];
    const to = { kind: "user", name: "bob" };
    let failed = "";
    for (let i = 0; i < 3000 && !failed; i++) {
      const mid = `big-${String(i).padStart(5, "0")}`;
      const c = await code(alice.conn.request("send", { to, mid }, new Uint8Array(4000)));
      if (c === "ok") acked.push(mid);
      else failed = c;
    }
    const status = await srv.child.status;
    const err = await srv.errText;
    await alice.close().catch(() => {});
    assert.ok(failed !== "", "a send failed once the disk failed");
    assert.ok(acked.length > 100, `${acked.length} acknowledged first`);
    assert.match(err, /ERROR store\.broken error="The database failed: /);
    assert.equal(status.code, 70, err.slice(-2000));
    // A restart without the limit: recovered from the WAL, every acknowledged message there.
    const s = new SqliteStore(`${dir}/parley.db`, { check: true });
    try {
      const mids = new Set((await s.since(0, 100_000)).map((m) => m.mid));
      for (const mid of acked) assert.ok(mids.has(mid), `acknowledged ${mid} is stored`);
    } finally {
      await s.close();
    }
    const again = await spawnServerProcess(dir, { args: ARGS });
    try {
      const a = await loginSpawned(again.port, again.cert, "alice", false);
      assert.equal(await code(a.conn.request("send", { to, mid: "after-00001" }, new Uint8Array(10))), "ok");
      await a.close();
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
