/**
 * A handler that fails — throwing at once (a `send`, which runs without promises up to the group
 * commit) or rejecting later (an async one) — is logged and answered `internal`, and the requests
 * after it on the same connection still run (server.ts `#dispatch`, request_chain.ts).
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";

Deno.test("a handler failing at once or later is answered internal, and the connection goes on", async () => {
  const t = await startTestServer();
  try {
    const a = await t.client("alice");
    await t.client("bob");
    const store = t.srv.core.store as typeof t.srv.core.store & { devicesNow?: unknown };
    const keep = { devicesNow: store.devicesNow, history: store.history };
    const dm = (mid: string) => ({ to: { kind: "user", name: "bob" }, mid });
    store.devicesNow = () => {
      throw new Error("boom at once");
    };
    await assert.rejects(a.conn.request("send", dm("fail-now-1")), { code: "internal" });
    store.devicesNow = keep.devicesNow;
    store.history = () => Promise.reject(new Error("boom later"));
    await assert.rejects(a.conn.request("history", { to: { kind: "user", name: "bob" } }), {
      code: "internal",
    });
    store.history = keep.history;
    const ok = await a.conn.request("send", dm("after-0001"));
    assert.equal(ok.header.t, "ok");
    assert.ok(
      t.lines.some((l) => l.includes("boom at once")) && t.lines.some((l) => l.includes("boom later")),
    );
  } finally {
    await t.stop();
  }
});
