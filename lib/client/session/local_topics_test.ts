/** local_topics.ts: a room's newest topic wins by the time it was set, whatever order settings arrive in. */
import assert from "node:assert/strict";
import { LocalStore } from "./local_store.ts";
import { setTopic, topicOf } from "./local_topics.ts";

Deno.test("room topics: the newest setting wins (an older or equal one, e.g. a late re-send, loses); kept for another process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const one = new LocalStore(path), other = new LocalStore(path);
    assert.equal(topicOf(one.db, "r:dev"), undefined);
    assert.equal(setTopic(one.db, "r:dev", { text: "second", by: "bob", at: 200 }), true);
    assert.equal(setTopic(one.db, "r:dev", { text: "first", by: "alice", at: 100 }), false, "older");
    assert.equal(setTopic(one.db, "r:dev", { text: "same time", by: "carol", at: 200 }), false, "equal");
    assert.deepEqual(topicOf(other.db, "r:dev"), { text: "second", by: "bob", at: 200 });
    assert.equal(setTopic(other.db, "r:dev", { text: "", by: "alice", at: 300 }), true, "cleared");
    assert.deepEqual(topicOf(one.db, "r:dev"), { text: "", by: "alice", at: 300 });
    assert.equal(topicOf(one.db, "r:ops"), undefined, "per room");
    one.close();
    other.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
