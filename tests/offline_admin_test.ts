/**
 * `server.ts admin grant|revoke|unlock NAME` with the server stopped goes through Core's own
 * actions (same answers, checks and audit rows as the console) on the store in the data folder
 * given by --data (lib/server/data_dir.ts names the file; nothing else does).
 */
import assert from "node:assert/strict";
import { dbPathIn } from "../lib/server/data_dir.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { runProgram, startTestServer } from "./helpers.ts";

async function withStore<T>(dir: string, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const s = new SqliteStore(dbPathIn(dir));
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

Deno.test("offline admin uses Core.setRole/unlock on the configured data folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-offline-" });
  try {
    const data = `${dir}/custom-data`;
    await Deno.mkdir(data);
    await withStore(data, async (s) => {
      await s.createUser({ name: "alice", hash: "x", role: "user", createdAt: 1 });
      await s.setLoginState("alice", { failed: 9, lockedUntil: Date.now() + 3600_000, lockouts: 2 });
    });
    const admin = (...a: string[]) => runProgram("server.ts", ["admin", ...a, "--data", data]);
    assert.equal((await admin("grant", "alice")).out.trim(), "alice is now an admin");
    // Core's answer, not a second copy's: granting twice changes nothing and says so.
    assert.equal((await admin("grant", "Alice")).out.trim(), "alice is already an admin");
    const last = await admin("revoke", "alice");
    assert.deepEqual([last.code, last.err.trim()], [
      1,
      "parley-server: alice is the last admin and cannot be demoted",
    ]);
    assert.equal((await admin("unlock", "alice")).out.trim(), "Unlocked alice");
    const nobody = await admin("grant", "nobody");
    assert.match(nobody.err, /There is no user named nobody; they must register first/);
    await withStore(data, async (s) => {
      assert.equal((await s.getUser("alice"))?.role, "admin");
      assert.equal((await s.getUser("alice"))?.lockedUntil, 0, "unlocked");
      const audit = await s.listAudit(10);
      assert.deepEqual(audit.map((a) => [a.actor, a.action, a.target]).reverse(), [
        ["cli", "grant", "alice"],
        ["cli", "unlock", "alice"],
      ]);
    });
    // `admin invite`: a one-time code the server (in --registration invite) takes once.
    const inv = await admin("invite");
    const code = inv.out.match(/^Invitation code ([0-9a-z-]{23}), valid once until \S+Z$/m)?.[1];
    assert.ok(code, inv.out + inv.err);
    const t = await startTestServer({ registration: "invite" }, { dir: data });
    try {
      const c = await t.connect();
      await c.request("hello", { v: 1, client: "t" });
      await c.request("register", { user: "bob", password: "bob password", invite: code });
      const again = await t.connect();
      await again.request("hello", { v: 1, client: "t" });
      await assert.rejects(
        again.request("register", { user: "carol", password: "carol pw!", invite: code }),
        {
          code: "bad_invite",
        },
      );
      // Beside the running server: done, and the operator is told when it counts there.
      const granted = await admin("grant", "bob");
      assert.equal(granted.out.trim(), "bob is now an admin");
      assert.match(
        granted.err,
        /^A server is running on this data folder: bob is an admin there from their next login/,
      );
      const twice = await admin("grant", "bob");
      assert.deepEqual(
        [twice.out.trim(), twice.err],
        ["bob is already an admin", ""],
        "nothing changed: no note",
      );
      const revoked = await admin("revoke", "bob");
      assert.match(revoked.err, /bob's next admin command there is refused/);
    } finally {
      await t.stop();
    }
    // Nothing was written to the default data folder or the working directory.
    await assert.rejects(Deno.stat(`${dir}/parley.db`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
