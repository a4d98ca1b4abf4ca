/**
 * A full disk under a running server (issue 68 item 3): the store's database may not grow (SQLite's
 * page cap, the injected fault of a disk with no room), so stored sends are refused with `disk_full`
 * — a warning in the log, not an internal error —, reads go on, nothing acknowledged before is lost,
 * the server keeps running, and sends are accepted again once there is room.
 */
import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { startTestServer } from "./helpers.ts";

const code = (p: Promise<unknown>) => p.then(() => "ok", (e) => e.code as string);

Deno.test("a full disk: sends answer disk_full, reads go on, nothing acknowledged is lost, and sends resume when there is room", async () => {
  const t = await startTestServer();
  try {
    const a = await t.client("alice");
    const b = await t.client("bob");
    const to = { kind: "user", name: "bob" };
    const send = (i: number, bytes: number) =>
      code(a.conn.request("send", { to, mid: `mid-${String(i).padStart(5, "0")}` }, new Uint8Array(bytes)));
    for (let i = 1; i <= 3; i++) assert.equal(await send(i, 100), "ok");
    const db = (t.srv.core.store as unknown as { db: DatabaseSync }).db;
    const pages = (db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
    db.exec(`PRAGMA max_page_count=${pages}`);
    for (let i = 4; i <= 6; i++) assert.equal(await send(i, 60_000), "disk_full", `send ${i}`);
    const synced = (await b.conn.request("sync")).header as { count?: number };
    assert.equal(
      synced.count,
      3,
      `the acknowledged messages are read while the disk is full: ${JSON.stringify(synced)}`,
    );
    assert.ok(t.lines.some((l) => /WARN store\.append code=disk_full/.test(l)), t.lines.join("\n"));
    assert.ok(!t.lines.some((l) => / ERROR /.test(l)), "a full disk is not a bug");
    db.exec("PRAGMA max_page_count=1073741823");
    assert.equal(await send(7, 60_000), "ok", "room again: sends are accepted");
    assert.equal(await send(4, 60_000), "ok", "the refused one, sent again");
  } finally {
    await t.stop();
  }
});
