/**
 * FileStore's `done` (issue 36): a taken file is marked done and saved at once, and its ciphertext
 * is unlinked afterwards — the recipient's `file.done` does not wait for the unlink of a big file
 * (its page cache dropped: 0.1–0.3 s per GiB) — while `close()` does wait for it.
 */
import assert from "node:assert/strict";
import { systemClock } from "../common/clock.ts";
import { readMeta } from "./file_meta.ts";
import { type FileMeta, FileStore } from "./file_store.ts";

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((
    _,
    no,
  ) => (timer = setTimeout(() => no(new Error(`${what}: still waiting`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

Deno.test("file store: done resolves before the ciphertext's unlink ends; close waits for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-fdone-" });
  const store = new FileStore(dir, 1 << 30, 3_600_000, systemClock);
  try {
    await store.load();
    const f = await store.create({ fid: "donefile-0001", from: "alice", to: "bob", size: 5 });
    await store.append(f, new Uint8Array([1, 2, 3, 4, 5]));
    assert.equal(f.state, "ready");
    let unlink = () => {};
    const asked: string[] = [];
    const unlinked = new Promise<void>((r) => (unlink = r));
    store.removeBin = async (fid) => {
      asked.push(fid);
      await unlinked;
      await Deno.remove(`${dir}/${fid}.bin`);
    };
    await within(store.done(f), 2000, "done waited for the unlink");
    assert.equal(f.state, "done");
    assert.equal((await readMeta<FileMeta>(dir, f.fid))?.state, "done", "saved before it resolved");
    assert.deepEqual(asked, [f.fid], "the unlink was started");
    assert.ok((await Deno.stat(`${dir}/${f.fid}.bin`)).isFile, "still there: the unlink is held");
    // The fence: a close with nothing open does no I/O before it waits for the unlinks, so one
    // macrotask turn runs it to its end unless it waits; a twin store with no unlink held shows it does.
    const twin = new FileStore(
      await Deno.makeTempDir({ dir, prefix: "twin-" }),
      1 << 30,
      3_600_000,
      systemClock,
    );
    await twin.load();
    let closed = false, twinClosed = false;
    const closing = store.close().then(() => (closed = true));
    void twin.close().then(() => (twinClosed = true));
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(twinClosed, true, "the fence: a close with no unlink held ends within the turn");
    assert.equal(closed, false, "close waits for the unlink");
    unlink();
    await within(closing, 2000, "close");
    await assert.rejects(Deno.stat(`${dir}/${f.fid}.bin`), Deno.errors.NotFound);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
