import assert from "node:assert/strict";
import { demoWorld, harness, memoryLocal } from "./testing.ts";
import type { BufferOrder } from "../backend.ts";
import { bufferOrder } from "../session/local_buffer_order.ts";
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../session/local_store_sql.ts";

/** The buffer order kept in a local store's table (session/local_buffer_order.ts), in memory. */
function storedOrder(): BufferOrder {
  const db = new DatabaseSync(":memory:");
  migrate(db);
  return bufferOrder(db);
}

const start = (order: BufferOrder) =>
  harness({ cols: 120, setup: (b) => (demoWorld(b), b.local = memoryLocal({ bufferOrder: order })) });
const list = (s: string[]) => s.slice(1, 6).map((l) => l.split(/[ │]/)[0]!).filter(Boolean);

Deno.test("TuiApp keeps buffer numbers across restarts; /buffer move N changes one, kept too (issue 71.10)", async () => {
  const order = storedOrder();
  let h = await start(order);
  h.backend.receive("carol", { kind: "user", name: "alice" }, "hi");
  let s = await h.settle();
  assert.deepEqual(list(s), ["1.status", "2.#general", "3.#random", "4.carol"]);
  await h.type("\x1b4"); // carol's buffer
  s = await h.type("/buffer move 2\r");
  assert.deepEqual(list(s), ["1.status", "2.carol", "3.#general", "4.#random"]);
  assert.equal(s.at(-1), "[carol]", "the moved buffer stays on screen");
  h.close();

  // The next start: the rooms come first from the server, carol's buffer when her history does; the numbers stay.
  h = await start(order);
  h.backend.receive("carol", { kind: "user", name: "alice" }, "again");
  s = await h.settle();
  assert.deepEqual(list(s), ["1.status", "2.carol", "3.#general", "4.#random"]);
  assert.equal((await h.type("\x1b3")).at(-1), "[#general]", "Alt+3 opens the same conversation as before");
  s = await h.type("/buffer move 9\r");
  assert.match(s.join("\n"), /Say which number: \/buffer move N, N from 2 to 4/);
  await h.type("\x1b1");
  s = await h.type("/buffer move 3\r");
  assert.match(s.join("\n"), /The status buffer stays number 1/);
  h.close();
});
