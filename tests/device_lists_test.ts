/**
 * Device lists for a room's seal (session 36 noticed, 37 fixed): a room's seal reads its members'
 * lists once per connection — only theirs (`users` with `names`), not every user of the server — and
 * a server that does not know `names` (before 0.14) is read whole instead, once. The server answers
 * `names` with the users of it that exist.
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { DeviceLists } from "../lib/client/e2e/dm_seal.ts";
import { MemoryCryptoStore } from "../lib/crypto/state_store.ts";
import { startTestServer } from "./helpers.ts";

const DIRECTORY: Record<string, number[]> = { alice: [1], bob: [1, 2], carol: [1] };

/** DeviceLists over a fake server; the `users` requests it made (names, or "*" for every user). */
function lists(old = false) {
  const asked: string[] = [];
  const request = (kind: string, f: Record<string, unknown> = {}) => {
    assert.equal(kind, "users");
    const names = f.names as string[] | undefined;
    asked.push(names ? names.join(",") : "*");
    if (names && old) return Promise.reject(new BackendError("invalid", 'Invalid field "names"'));
    const users = Object.entries(DIRECTORY).filter(([u]) => !names || names.includes(u))
      .map(([user, devices]) => ({ user, devices }));
    return Promise.resolve({ header: { users } });
  };
  return { d: new DeviceLists(request, new MemoryCryptoStore(), "alice", 1), asked };
}

Deno.test("DeviceLists: a room's members' lists are read once per connection, only theirs", async () => {
  const { d, asked } = lists();
  await d.current(["alice", "bob"]);
  assert.deepEqual(await d.of("bob"), [1, 2]);
  await d.current(["bob", "alice"]);
  assert.deepEqual(asked, ["alice,bob"], "read once");
  await d.current(["bob", "carol", "ghost"]);
  assert.deepEqual(asked, ["alice,bob", "carol,ghost"], "only those not read yet");
  assert.deepEqual(await d.of("ghost"), [1], "no such user: nothing more to ask");
  d.stale(); // a reconnect
  await d.current(["bob"]);
  assert.deepEqual(asked.at(-1), "bob");
  await d.current(); // a broadcast: every user's
  await d.current(["carol"]);
  assert.deepEqual(asked.slice(-1), ["*"], "read whole: nothing more to ask on this connection");
});

Deno.test("DeviceLists: a server that takes no names is read whole, once", async () => {
  const { d, asked } = lists(true);
  await d.current(["alice", "bob"]);
  assert.deepEqual(await d.of("bob"), [1, 2]);
  await d.current(["carol"]);
  assert.deepEqual(asked, ["alice,bob", "*"]);
});

Deno.test("server: users with names lists those that exist, each once", async () => {
  const t = await startTestServer();
  try {
    const a = await t.client("alice");
    await t.client("bob");
    const r = await a.conn.request("users", { names: ["Bob", "bob", "ghost"] });
    assert.deepEqual(r.header.users, [{ user: "bob", role: "user", devices: [] }]); // no keys: no device
    assert.equal(((await a.conn.request("users")).header.users as unknown[]).length, 2, "without: everyone");
    await assert.rejects(
      a.conn.request("users", { names: Array.from({ length: 1001 }, (_, i) => `u${i}`) }),
      (e) => e instanceof BackendError && e.code === "invalid",
    );
  } finally {
    await t.stop();
  }
});
