/**
 * Two nodes' FileStores on one shared files folder, with no bus between them (file_meta.ts): a node
 * that does not know a fid reads it from the folder; takes recorded by two nodes whose entries are
 * stale merge (the file goes once every member took it), also when they race; the state never moves
 * back; a file one node removed is not brought back by the other's write.
 */
import assert from "node:assert/strict";
import { systemClock } from "../lib/common/clock.ts";
import {
  createMeta,
  LOCK_SKEW_MS,
  LOCK_STALE_MS,
  lockIsStale,
  readMeta,
  saveMeta,
  sidecarKey,
} from "../lib/server/file_meta.ts";
import { type FileMeta, FileStore } from "../lib/server/file_store.ts";

async function twoStores() {
  const dir = await Deno.makeTempDir({ prefix: "parley-fmeta-" });
  const a = new FileStore(dir, 1 << 30, 3_600_000, systemClock);
  const b = new FileStore(dir, 1 << 30, 3_600_000, systemClock);
  await a.load();
  await b.load();
  return { dir, a, b, done: () => Deno.remove(dir, { recursive: true }) };
}

const roomFile = (fid: string, members: string[]) => ({
  fid,
  from: "alice",
  to: "team",
  size: 10,
  room: true,
  members,
});

Deno.test("file meta: a node reads a fid it does not know; stale takes from two nodes merge", async () => {
  const { dir, a, b, done } = await twoStores();
  try {
    const fa = await a.create(roomFile("roomfile-0001", ["bob", "dave"]));
    assert.equal(b.get(fa.fid), undefined, "node B was not told");
    const fb = (await b.lookup(fa.fid))!;
    assert.equal(fb.state, "uploading", "read from the folder");
    await a.append(fa, new Uint8Array(10));
    assert.equal(fa.state, "ready");
    // B's entry is stale (still uploading); its write must not move the state back.
    assert.equal(await b.took(fb, "carol", ["bob", "dave"]), false);
    assert.equal((await readMeta<FileMeta>(dir, fa.fid))?.state, "ready", "the state never moves back");
    assert.equal(await a.took(fa, "bob", ["bob", "dave"]), false);
    assert.deepEqual([...fa.took!].sort(), ["bob", "carol"], "A's write merged B's take in");
    const fb2 = b.get(fa.fid)!;
    assert.deepEqual(fb2.took, ["carol"], "B has not seen bob's take");
    assert.equal(await b.took(fb2, "dave", ["bob", "dave"]), true, "bob's take (node A) counts on node B");
    assert.equal((await readMeta<FileMeta>(dir, fa.fid))?.state, "done");
  } finally {
    await a.close();
    await b.close();
    await done();
  }
});

Deno.test("file meta: takes racing on two nodes are all kept (the per-file lock)", async () => {
  const { dir, a, b, done } = await twoStores();
  try {
    const users = Array.from({ length: 24 }, (_, i) => `u${i}`);
    const fa = await a.create(roomFile("roomfile-0002", users));
    const fb = (await b.lookup(fa.fid))!;
    await Promise.all(users.map((u, i) => (i % 2 ? a.took(fa, u, ["nobody"]) : b.took(fb, u, ["nobody"]))));
    const disk = await readMeta<FileMeta>(dir, fa.fid);
    assert.deepEqual([...disk!.took!].sort(), [...users].sort());
  } finally {
    await a.close();
    await b.close();
    await done();
  }
});

Deno.test("file meta: a file one node withdrew is not written back by another", async () => {
  const { dir, a, b, done } = await twoStores();
  try {
    const fa = await a.create(roomFile("roomfile-0003", ["bob"]));
    const fb = (await b.lookup(fa.fid))!;
    await a.remove(fa.fid);
    assert.equal(await b.took(fb, "bob", ["bob"]), false);
    assert.equal(await readMeta(dir, fa.fid), null, "no sidecar came back");
    assert.equal(b.get(fa.fid), undefined, "and node B forgot it");
    assert.equal(await b.lookup(fa.fid), undefined);
  } finally {
    await a.close();
    await b.close();
    await done();
  }
});

Deno.test("file meta: a lock file dated in the future does not block the file's changes (issue 69 S2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-fmeta-lock-" });
  try {
    await createMeta(dir, { fid: "lockedfile-01", state: "uploading" });
    // Planted in the shared folder (or left by a node whose clock ran an hour ahead).
    await Deno.writeTextFile(`${dir}/lockedfile-01.lock`, "");
    const hour = new Date(Date.now() + 3_600_000);
    await Deno.utime(`${dir}/lockedfile-01.lock`, hour, hour);
    let id: ReturnType<typeof setTimeout> | undefined;
    const saved = await Promise.race([
      saveMeta(dir, { fid: "lockedfile-01", state: "ready" as const }),
      new Promise<"blocked">((r) => (id = setTimeout(() => r("blocked"), 5000))),
    ]);
    clearTimeout(id);
    assert.notEqual(saved, "blocked", "the change went through within 5 s");
    assert.equal((await readMeta(dir, "lockedfile-01"))?.state, "ready");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file meta: which locks are broken — stale, in the future, or waited for too long", () => {
  const now = 1_800_000_000_000;
  assert.equal(lockIsStale(now - 1000, now, 0), false, "held a second: wait");
  assert.equal(lockIsStale(now - LOCK_STALE_MS - 1, now, 0), true, "its node died holding it");
  assert.equal(lockIsStale(now + LOCK_SKEW_MS - 1, now, 0), false, "another clock a little ahead");
  assert.equal(lockIsStale(now + LOCK_SKEW_MS + 1, now, 0), true, "dated in the future");
  assert.equal(lockIsStale(now + 1000, now, LOCK_STALE_MS + 1), true, "the wait is bounded");
});

Deno.test("file meta: a sidecar without the cluster key's MAC is not read, at load or lookup (issue 69 S1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-fmeta-mac-" });
  try {
    const key = await sidecarKey(crypto.getRandomValues(new Uint8Array(32)));
    const node = () => {
      const s = new FileStore(dir, 1 << 30, 3_600_000, systemClock);
      s.macKey = key;
      return s;
    };
    const [a, b] = [node(), node()];
    await a.load();
    await b.load();
    const made = await a.create({ fid: "realfile-0001", from: "alice", to: "bob", size: 4 });
    assert.equal((await b.lookup(made.fid))?.to, "bob", "another node's sidecar verifies");
    // Planted in the shared folder: sidecars naming mallory, with a regular file beside them.
    const now = Date.now();
    const planted = (fid: string) => ({
      fid,
      from: "alice",
      to: "mallory",
      size: 6,
      created: now,
      expires: now + 3_600_000,
      state: "ready",
    });
    await Deno.writeTextFile(`${dir}/planted-0001.json`, JSON.stringify(planted("planted-0001")));
    await Deno.writeTextFile(`${dir}/planted-0001.bin`, "ABCDEF");
    const wrongKey = await sidecarKey(crypto.getRandomValues(new Uint8Array(32)));
    const forged = JSON.stringify(planted("planted-0002"));
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", wrongKey, new TextEncoder().encode(forged)));
    await Deno.writeTextFile(
      `${dir}/planted-0002.json`,
      JSON.stringify({ ...planted("planted-0002"), mac: mac.toHex() }),
    );
    await Deno.writeTextFile(`${dir}/planted-0002.bin`, "ABCDEF");
    assert.equal(await b.lookup("planted-0001"), undefined, "no MAC: not read");
    assert.equal(await b.lookup("planted-0002"), undefined, "a MAC under another key: not read");
    // A real sidecar edited in place (its recipient changed, its MAC kept): not read either.
    const real = JSON.parse(await Deno.readTextFile(`${dir}/${made.fid}.json`));
    await Deno.writeTextFile(`${dir}/${made.fid}.json`, JSON.stringify({ ...real, to: "mallory" }));
    assert.equal(await b.refresh(made.fid), undefined, "an edited sidecar is not taken");
    const c = node();
    await c.load(); // a node starting on the folder
    assert.deepEqual([c.get("planted-0001"), c.get("planted-0002"), c.get(made.fid)], [
      undefined,
      undefined,
      undefined,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
