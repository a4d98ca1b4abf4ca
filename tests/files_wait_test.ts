/**
 * Hand-offs between a file's sender and receiver are events, not polls (issue 36): a receiver
 * ahead of its sender on the relay, and a sender waiting for delivery (`send-file --wait`), are
 * woken by the server's `file.wait` answer when the file changes. The tests count the requests
 * made during a wait (a poll would make one every pollMs) and time the resumption (a poll would
 * resume up to pollMs late); a server without `file.wait` is asked once, then looked at as before.
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import { MAX_WAITS } from "../lib/server/handlers_files.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

const SIZE = 3 * 1024 * 1024 + 11;

/** Counts `client`'s requests by kind; `hold(kind, when)` makes matching ones wait for `release`. */
function inspect(client: ChatClient) {
  const conn = client.conn;
  const request = conn.request.bind(conn);
  const counts = new Map<string, number>();
  const waits: string[] = [];
  let gate: { when: (f: Record<string, unknown>) => boolean; open: Promise<void>; kind: string } | null =
    null;
  let release = () => {};
  let refuse = "";
  conn.request = (async (t: string, fields: Record<string, unknown> = {}, body?: Uint8Array) => {
    counts.set(t, (counts.get(t) ?? 0) + 1);
    if (t === refuse) throw new BackendError("unknown_kind", `Unknown message kind "${t}"`);
    if (gate && gate.kind === t && gate.when(fields)) await gate.open;
    const r = await request(t, fields, body);
    if (t === "file.wait") waits.push(String(r.header.state));
    return r;
  }) as typeof conn.request;
  return {
    count: (t: string) => counts.get(t) ?? 0,
    /** The states `file.wait` answered, in order. */
    waits,
    reset: () => counts.clear(),
    hold(kind: string, when: (f: Record<string, unknown>) => boolean) {
      gate = { kind, when, open: new Promise<void>((r) => (release = r)) };
    },
    release: () => (gate = null, release()),
    /** Plays a server that does not know `kind`. */
    refuse: (kind: string) => (refuse = kind),
  };
}

async function setup(t: TestServer, pollMs: { a: number; b: number }) {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await a.client.sync();
  await b.client.sync();
  const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, undefined, pollMs.a, false);
  const fb = new FileTransfers(b.client, FileTransfers.of(b.client).ops, undefined, pollMs.b, false);
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  const path = `${t.dir}/src/big.bin`;
  await Deno.writeFile(path, new Uint8Array(SIZE).fill(9));
  return { a, b, fa, fb, path };
}

Deno.test("files: a receiver ahead of its sender waits on the server's word, not a poll, and resumes as the upload goes on", async () => {
  // A poll would look every 10 ms (hundreds of file.get in the hold) and resume up to 10 s late.
  const took: number[] = [];
  for (const pollMs of [10, 10_000]) {
    const t = await startTestServer();
    try {
      const { a, fb, fa, path } = await setup(t, { a: 200, b: pollMs });
      const up = inspect(a.client);
      up.hold("file.put", (f) => Number(f.off) > 0); // the first body goes, then the sender stalls
      const sent = fa.send("bob", path, "relay");
      sent.catch(() => {}); // awaited below
      const rec = (await eventually(async () => (await fb.incoming()).find((r) => r.state === "offered")))!;
      const down = inspect(fb.client);
      const got = fb.accept(rec, `${t.dir}/down${pollMs}`);
      got.catch(() => {}); // awaited below
      // It has read what there is: it waits on the server (the event), not on a timer of its own.
      await eventually(
        () => t.srv.files.watch.size === 1 || null,
        5000,
        "the receiver waiting on the server",
      );
      assert.ok(down.count("file.wait") >= 1, "the receiver asked the server to wait");
      const released = performance.now();
      up.release();
      const saved = await got;
      took.push(performance.now() - released);
      // Woken by the server's answer: as quick with pollMs 10 s as with 10 ms (the baseline, this test's
      // first run), where a poll would resume up to 10 s late.
      assert.ok(took.length === 1 || took[1]! < took[0]! + 5000, `resumed ${took.map(Math.round)} ms after`);
      assert.equal((await Deno.stat(saved.path)).size, SIZE);
      await sent;
    } finally {
      await t.stop();
    }
  }
});

Deno.test("files: delivered() is woken by the recipient taking the file, with one look and one wait per change", async () => {
  const t = await startTestServer();
  try {
    const { a, b, fa, fb, path } = await setup(t, { a: 10_000, b: 200 });
    const sent = await fa.send("bob", path, "relay");
    const up = inspect(a.client);
    const delivered = fa.delivered(sent.fid, 20_000);
    await eventually(() => t.srv.files.watch.size === 1 || null, 5000, "the sender waiting on the server");
    assert.equal(up.count("file.list"), 1, "one look, then a wait on the server");
    assert.equal(up.count("file.wait"), 1);
    const rec = (await fb.incoming()).find((r) => r.fid === sent.fid)!;
    await fb.accept(rec, `${t.dir}/down`);
    assert.equal(await delivered, true);
    // Woken by the taking: the one wait answered (a wait's own 20 s would have ended it, not a second one).
    assert.deepEqual(up.waits, ["done"], "the one wait answered by the file taken");
    assert.equal(await fa.delivered(sent.fid, 5000), true, "already delivered: at once");
    await b.client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("files: with a server that has no file.wait, the receiver and delivered() ask once, then look every pollMs", async () => {
  const t = await startTestServer();
  try {
    const { a, fa, fb, path } = await setup(t, { a: 20, b: 20 });
    const up = inspect(a.client);
    up.refuse("file.wait");
    up.hold("file.put", (f) => Number(f.off) > 0);
    const sent = fa.send("bob", path, "relay");
    sent.catch(() => {}); // awaited below
    const rec = (await eventually(async () => (await fb.incoming()).find((r) => r.state === "offered")))!;
    const down = inspect(fb.client);
    down.refuse("file.wait");
    const got = fb.accept(rec, `${t.dir}/down`);
    got.catch(() => {}); // awaited below
    await eventually(() => down.count("file.get") > 10 || null, 5000, "the receiver looking again");
    const delivered = fa.delivered(rec.fid, 10_000);
    up.release();
    assert.equal((await Deno.stat((await got).path)).size, SIZE);
    assert.equal(down.count("file.wait"), 1, "asked once");
    assert.equal(await delivered, true);
    assert.equal(up.count("file.wait"), 1, "asked once");
    await sent;
  } finally {
    await t.stop();
  }
});

Deno.test("files: file.wait is for the sender and the reader, answers on a change, at most MAX_WAITS at once, and ends at shutdown", async () => {
  const t = await startTestServer();
  let stopped = false;
  try {
    const [a, b, c] = [await t.client("alice"), await t.client("bob"), await t.client("carol")];
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: Error & { code?: string }) => e.code);
    const fid = "fid-wait-001";
    const put = (off: number, n: number) =>
      a.conn.request("file.put", { fid, to: "bob", size: 100, off }, new Uint8Array(n));
    const wait = (who: typeof a, have: number, ms = 20_000, state = "uploading") =>
      who.conn.request("file.wait", { fid, have, state, ms });
    await put(0, 40);
    assert.equal(await code(wait(c, 40)), "no_such_file", "carol may not follow alice's file to bob");
    assert.equal((await wait(b, 0)).header.have, 40, "already moved: answered at once");
    assert.equal((await wait(b, 40, 50)).header.have, 40, "unchanged after ms");
    const answered = new Set<string>();
    const bob = wait(b, 40), alice = wait(a, 40);
    bob.then(() => answered.add("bob"), () => {}); // (each awaited below)
    alice.then(() => answered.add("alice"), () => {});
    await eventually(() => t.srv.files.watch.size === 1 || null, 5000, "both waiting");
    await put(40, 60);
    // Fences: a later answer on each connection comes after the wait's, if the body woke it.
    await wait(b, 0, 0);
    assert.deepEqual([...answered].sort(), ["alice", "bob"], "woken by the body, not by its ms");
    assert.deepEqual([(await bob).header.have, (await bob).header.state], [100, "ready"]);
    assert.equal((await alice).header.have, 100);
    // Bounded per connection: MAX_WAITS pending, the next one refused.
    const many = Array.from({ length: MAX_WAITS }, () => wait(b, 100, 20_000, "ready"));
    assert.equal(await code(wait(b, 100, 20_000, "ready")), "busy");
    let doneSeen = false;
    const done = wait(a, 100, 20_000, "ready");
    done.then(() => (doneSeen = true), () => {}); // (awaited below)
    await eventually(() => t.srv.files.watch.size === 1 || null, 5000, "alice waiting");
    await b.conn.request("file.done", { fid });
    await wait(a, 0, 0); // the fence on alice's connection
    assert.ok(doneSeen, "woken by file.done, not by its ms");
    assert.equal((await done).header.state, "done", "the sender sees the file taken");
    for (const w of many) assert.equal((await w).header.state, "done");
    // Pending waits end when the server stops (no timer left behind).
    const left = code(wait(b, 100, 20_000, "done"));
    await eventually(() => t.srv.files.watch.size === 1 || null, 5000, "bob waiting");
    stopped = true;
    await t.stop();
    assert.equal(t.srv.files.watch.size, 0, "no wait left behind");
    assert.notEqual(await left, undefined);
  } finally {
    if (!stopped) await t.stop();
  }
});

Deno.test("files: a wake of file.wait that changed nothing the waiter knows (a late event of an earlier change) waits on", async () => {
  const t = await startTestServer();
  try {
    const a = (await t.e2eClient("alice")).client.conn;
    const b = (await t.e2eClient("bob")).client.conn;
    const half = new Uint8Array(1000).fill(3);
    const fid = "late-event-0001";
    await a.request("file.put", { fid, to: "bob", size: 2000, off: 0 }, half);
    let answered = false;
    const wait = b.request("file.wait", { fid, have: 1000, state: "uploading", ms: 10_000 }).then((r) => {
      answered = true;
      return r.header;
    });
    await eventually(() => t.srv.files.watch.size === 1 || null, 5000, "bob waiting");
    t.srv.files.watch.changed(fid); // an event that moved nothing: the first body's, arriving late
    // The fence: a later answer on bob's connection comes after the wait's, had the wake answered it.
    await b.request("file.wait", { fid, have: 0, state: "uploading", ms: 0 });
    assert.equal(answered, false, "still waiting");
    await a.request("file.put", { fid, to: "bob", size: 2000, off: 1000 }, half);
    const h = await wait;
    assert.deepEqual([h.have, h.state], [2000, "ready"]);
  } finally {
    await t.stop();
  }
});

Deno.test("files: a sender asking where its upload stands is told what the folder holds (another node of a cluster wrote more)", async () => {
  const t = await startTestServer();
  try {
    const a = await t.client("alice");
    (await t.client("bob")).close();
    const fid = "fid-where-001";
    const put = (off: number, n: number) =>
      a.conn.request("file.put", { fid, to: "bob", size: 100, off }, new Uint8Array(n));
    await put(0, 40);
    // Another node of a cluster took 30 more bytes into the shared folder; its bus news has not come.
    const bin = await Deno.open(`${t.srv.files.dir}/${fid}.bin`, { append: true });
    await bin.write(new Uint8Array(30));
    bin.close();
    // A sender asks with no body where it stands, at the offset this node last knew (in a cluster: a
    // node that saw the file made and none of its bodies, asked at 0).
    assert.equal((await put(40, 0)).header.have, 70, "the folder's length, not this node's stale count");
    assert.equal((await put(70, 30)).header.state, "ready");
  } finally {
    await t.stop();
  }
});
