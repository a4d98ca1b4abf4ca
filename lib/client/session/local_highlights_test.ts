/** local_highlights.ts: highlight words live in the folder's store, kept in one form; bad ones are refused. */
import assert from "node:assert/strict";
import { LocalStore } from "./local_store.ts";
import { highlightList, highlightWord } from "./local_highlights.ts";

Deno.test("highlight words: kept in the store (another process, the next start), one form, bad ones refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const one = new LocalStore(path), other = new LocalStore(path);
    const a = highlightList(one.db, () => 1);
    assert.deepEqual(await a.set(" Release\tTrain ", true), ["release train"]);
    assert.deepEqual(await a.set("ÉTÉ", true), ["release train", "été"]);
    assert.deepEqual(await highlightList(other.db, () => 2).list(), ["release train", "été"]);
    assert.equal(highlightWord("e\u0301t\u0301e\u0301"), "ét́é", "NFC first");
    for (const bad of ["", "  ", "a\nb".replace("\n", "\x07"), "x".repeat(65)]) {
      await assert.rejects(
        a.set(bad, true),
        (e: { code?: string }) => e.code === "usage",
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(await a.set("RELEASE TRAIN", false), ["été"]);
    one.close();
    other.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
