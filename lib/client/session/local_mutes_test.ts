/** local_mutes.ts: the mute list lives in the folder's store, so a second process and the next start see it. */
import assert from "node:assert/strict";
import { LocalStore } from "./local_store.ts";
import { muteList, muteName } from "./local_mutes.ts";

Deno.test("mute list: kept in the store (another process, the next start), names normalised, bad ones refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const one = new LocalStore(path);
    const other = new LocalStore(path); // another process of the same folder
    const a = muteList(one.db, () => 1);
    assert.deepEqual(await a.set("#Ops", true), ["#ops"]);
    assert.deepEqual(await a.set("@Bob", true), ["#ops", "bob"]);
    assert.deepEqual(await a.set("*", true), ["#ops", "*", "bob"]);
    assert.deepEqual(await muteList(other.db, () => 2).list(), ["#ops", "*", "bob"]);
    await assert.rejects(
      a.set("#bad name!", true),
      /"#bad name!" names no conversation \(#ROOM, USER or \*\)/,
    );
    assert.deepEqual(await muteList(other.db, () => 2).set("bob", false), ["#ops", "*"]);
    one.close();
    other.close();
    const next = new LocalStore(path); // the next start
    assert.deepEqual(await muteList(next.db, () => 3).list(), ["#ops", "*"]);
    next.close();
    assert.equal(muteName("@Carol"), "carol");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
