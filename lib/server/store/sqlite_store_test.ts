import assert from "node:assert/strict";
import { storeConformance } from "./conformance.ts";
import { SqliteStore } from "./sqlite_store.ts";
import { MIGRATIONS } from "./migrations.ts";
import { DatabaseSync } from "node:sqlite";

storeConformance("SqliteStore(:memory:)", () => new SqliteStore(":memory:"));
storeConformance("SqliteStore(file)", () => new SqliteStore(Deno.makeTempFileSync({ suffix: ".db" })));

Deno.test("SqliteStore keeps data across reopen and runs migrations once", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
  const version = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
    } finally {
      db.close();
    }
  };
  const a = new SqliteStore(path);
  await a.createUser({ name: "x", hash: "h", role: "admin", createdAt: 1 });
  await a.close();
  assert.equal(version(), MIGRATIONS.length, "every migration ran and was recorded");
  // A second open runs none again: a migration run twice would fail ("table already exists").
  const b = new SqliteStore(path);
  assert.equal((await b.getUser("x"))?.role, "admin");
  await b.close();
  assert.equal(version(), MIGRATIONS.length);
  Deno.removeSync(path);
});
