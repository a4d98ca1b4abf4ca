import assert from "node:assert/strict";
import fc from "fast-check";
import { LruMap } from "./lru.ts";

/** The contract, slowly: an array of [key, value] in use order, oldest first. */
class Model {
  readonly items: [number, number][] = [];
  constructor(readonly max: number) {}
  #take(k: number): [number, number] | undefined {
    const i = this.items.findIndex(([key]) => key === k);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }
  get(k: number): number | undefined {
    const e = this.#take(k);
    if (e) this.items.push(e);
    return e?.[1];
  }
  set(k: number, v: number): void {
    if (!this.#take(k) && this.items.length >= this.max) this.items.shift();
    this.items.push([k, v]);
  }
  delete(k: number): boolean {
    return this.#take(k) !== undefined;
  }
}

type Op = { op: "get" | "set" | "delete" | "has" | "clear"; k: number; v: number };

Deno.test("LruMap answers every sequence of uses as an array kept in use order does", () => {
  const op = fc.record({
    op: fc.constantFrom<Op["op"]>("get", "set", "set", "delete", "has", "clear"),
    k: fc.integer({ min: 0, max: 7 }),
    v: fc.integer(),
  });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (max, ops) => {
      const m = new LruMap<number, number>(max), model = new Model(max);
      for (const { op, k, v } of ops) {
        if (op === "get") assert.equal(m.get(k), model.get(k));
        else if (op === "set") (m.set(k, v), model.set(k, v));
        else if (op === "delete") assert.equal(m.delete(k), model.delete(k));
        else if (op === "has") assert.equal(m.has(k), model.items.some(([key]) => key === k));
        else (m.clear(), model.items.length = 0);
        assert.equal(m.size, model.items.length);
      }
      // what is left, oldest first: each key's value, and the same order of eviction
      for (const [k, v] of model.items) {
        assert.equal(m.has(k), true);
        m.set(100 + k, v); // pushes the oldest out of both
        model.set(100 + k, v);
        assert.equal(m.has(k), model.items.some(([key]) => key === k));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("LruMap keeps a falsy value, and forgets the oldest of many evictions in order", () => {
  const m = new LruMap<string, number>(3);
  m.set("a", 0);
  assert.equal(m.get("a"), 0);
  assert.equal(m.has("a"), true);
  for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
  assert.equal(m.size, 3);
  assert.deepEqual(["k996", "k997", "k998", "k999"].map((k) => m.get(k)), [undefined, 997, 998, 999]);
});
