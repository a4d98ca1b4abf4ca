import assert from "node:assert/strict";
import { storeConformance } from "./conformance.ts";
import { SqliteStore } from "./sqlite_store.ts";

storeConformance("SqliteStore(:memory:)", () => new SqliteStore(":memory:"));
storeConformance("SqliteStore(file)", () => new SqliteStore(Deno.makeTempFileSync({ suffix: ".db" })));

Deno.test("SqliteStore keeps data across reopen and runs migrations once", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
  const a = new SqliteStore(path);
  await a.createUser({ name: "x", hash: "h", role: "admin", createdAt: 1 });
  await a.close();
  const b = new SqliteStore(path);
  assert.equal((await b.getUser("x"))?.role, "admin");
  await b.close();
  Deno.removeSync(path);
});
