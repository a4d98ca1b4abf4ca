import assert from "node:assert/strict";
import { storeConformance } from "./conformance.ts";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS } from "./migrations.ts";
import { SqliteStore } from "./sqlite_store.ts";

storeConformance("SqliteStore(:memory:)", () => new SqliteStore(":memory:"));
storeConformance("SqliteStore(file)", () => new SqliteStore(Deno.makeTempFileSync({ suffix: ".db" })));

Deno.test("SqliteStore keeps data across reopen and runs migrations once", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
  const raw = (f: (db: DatabaseSync) => unknown) => {
    const db = new DatabaseSync(path);
    try {
      return f(db);
    } finally {
      db.close();
    }
  };
  const version = () =>
    raw((db) => (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  const schema = () =>
    raw((db) => JSON.stringify(db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()));
  try {
    const a = new SqliteStore(path);
    await a.createUser({ name: "x", hash: "h", role: "admin", createdAt: 1 });
    await a.close();
    assert.equal(version(), MIGRATIONS.length, "every migration applied and recorded");
    const s1 = schema();
    const b = new SqliteStore(path);
    assert.equal((await b.getUser("x"))?.role, "admin");
    await b.close();
    assert.equal(version(), MIGRATIONS.length);
    assert.equal(schema(), s1, "reopening changed the schema");
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("SqliteStore applies only the migrations a database lacks, in order", async () => {
  for (let k = 1; k < MIGRATIONS.length; k++) {
    const path = Deno.makeTempFileSync({ suffix: ".db" });
    try {
      // a database left at version k by an older Parley
      const db = new DatabaseSync(path);
      for (let i = 0; i < k; i++) db.exec(MIGRATIONS[i]!);
      db.exec(`PRAGMA user_version = ${k}`);
      db.close();
      const fresh = new DatabaseSync(":memory:");
      for (const m of MIGRATIONS) fresh.exec(m);
      const want = JSON.stringify(
        fresh.prepare("SELECT type, name FROM sqlite_master ORDER BY name").all(),
      );
      fresh.close();
      const s = new SqliteStore(path);
      await s.createUser({ name: "y", hash: "h", role: "user", createdAt: 2 });
      assert.equal((await s.getUser("y"))?.role, "user");
      await s.close();
      const check = new DatabaseSync(path);
      const v = (check.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
      const got = JSON.stringify(check.prepare("SELECT type, name FROM sqlite_master ORDER BY name").all());
      check.close();
      assert.equal(v, MIGRATIONS.length, `from version ${k}`);
      assert.equal(got, want, `from version ${k}: schema`);
    } finally {
      Deno.removeSync(path);
    }
  }
});
