/** pg_errors.ts: which failures of the PostgreSQL client are `StoreUnavailable`, and the call deadline. */
import assert from "node:assert/strict";
import { classifyPgError, guardCalls, methodNames } from "./pg_errors.ts";
import { StoreUnavailable } from "./store_errors.ts";

const err = (code: string, name = "Error") => Object.assign(new Error(`x ${code}`), { code, name });

Deno.test("pg errors: out of reach, dropped connections and cancelled statements are StoreUnavailable; the rest stay", () => {
  for (
    const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "CONNECTION_CLOSED",
      "CONNECT_TIMEOUT",
      "57014",
      "57P01",
      "08006",
    ]
  ) {
    assert.ok(classifyPgError(err(code)) instanceof StoreUnavailable, code);
  }
  assert.ok(classifyPgError(err("", "ConnectionRefused")) instanceof StoreUnavailable);
  for (const code of ["23505", "42P01", ""]) {
    const e = err(code);
    assert.equal(classifyPgError(e), e, `${code || "no code"} is not an outage`);
  }
});

Deno.test("pg errors: a guarded call that never answers is StoreUnavailable within its deadline", async () => {
  class S {
    async hang(): Promise<void> {
      await new Promise(() => {});
    }
    async refuse(): Promise<void> {
      await Promise.resolve();
      throw err("ECONNREFUSED");
    }
    sync(): number {
      return 7;
    }
  }
  const s = new S();
  guardCalls(s, methodNames(S.prototype), 50);
  const t0 = Date.now();
  await assert.rejects(
    s.hang(),
    (e) => e instanceof StoreUnavailable && /hang: no answer in 50 ms/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 1000);
  await assert.rejects(s.refuse(), StoreUnavailable);
  assert.equal(s.sync(), 7);
});

Deno.test("pg errors: once out of reach, one call looks while the others are answered at once; back, all go", async () => {
  let up = false, calls = 0;
  let release: () => void = () => {};
  class S {
    async q(): Promise<string> {
      calls++;
      if (!up) throw err("ECONNREFUSED");
      await new Promise<void>((r) => release = r);
      return "ok";
    }
  }
  const s = new S();
  guardCalls(s, ["q"], 5000);
  await assert.rejects(s.q(), StoreUnavailable); // found down
  up = true;
  const probe = s.q(); // the one that looks
  await Promise.resolve();
  await assert.rejects(s.q(), /still out of reach/); // answered at once, never sent
  assert.equal(calls, 2);
  release();
  assert.equal(await probe, "ok");
  const next = s.q();
  await Promise.resolve();
  release();
  assert.equal(await next, "ok");
  assert.equal(calls, 3);
});
