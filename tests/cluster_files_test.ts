/**
 * Relayed files across the nodes of a cluster: three in-process nodes on one PostgreSQL and
 * NATS share one files folder (their data folder), and clients go round-robin over them — alice on
 * node 1, bob on node 2, dave on node 3, a reconnecting client on the next. A DM file, a room's file
 * taken from two other nodes, a download resumed from another node, and `file.wait` woken by a change
 * made on another node (a body stored, the file complete, taken, withdrawn).
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { sha256Hex } from "../lib/common/bytes.ts";
import { clusterSkip } from "./cluster_harness.ts";
import { eventually, type TestServer } from "./helpers.ts";
import { startTestCluster } from "./topology.ts";

const ignore = clusterSkip !== null;
const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + (i >> 11)) & 255);

async function source(t: TestServer, name: string, data: Uint8Array): Promise<string> {
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  await Deno.writeFile(`${t.dir}/src/${name}`, data);
  return `${t.dir}/src/${name}`;
}

/**
 * Until node `i` holds a `file.wait` for `fid` (the change that follows must wake it there; made
 * before it, the wait would answer at once and prove nothing).
 */
async function held(t: TestServer, i: number, fid: string): Promise<void> {
  await eventually(
    () => t.nodes[i]!.files.watch.waiting(fid) || null,
    5000,
    `a wait for ${fid} on node ${i + 1}`,
  );
}

Deno.test({ name: "cluster files: a relayed DM file between users on two nodes", ignore }, async () => {
  const t = await startTestCluster();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await a.client.sync();
    await b.client.sync();
    const data = bytes(200_000);
    const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, undefined, 10_000, false);
    const sent = await fa.send("bob", await source(t, "x.bin", data));
    const fb = FileTransfers.of(b.client);
    const rec = (await eventually(
      async () => (await fb.incoming()).find((r) => r.fid === sent.fid),
      5000,
      "offer",
    ))!;
    const delivered = fa.delivered(sent.fid, 20_000); // alice's file.wait, held on node 1
    await held(t, 0, sent.fid);
    const got = await fb.accept(rec, `${t.dir}/down`);
    const taken = performance.now();
    assert.deepEqual(await Deno.readFile(got.path), data);
    assert.equal(await delivered, true);
    const ms = performance.now() - taken;
    assert.ok(ms < 2000, `alice's wait on node 1 woke ${ms.toFixed(0)} ms after bob took it on node 2`);
    for (const n of t.nodes) await eventually(() => n.files.get(sent.fid)?.state === "done" || null);
  } finally {
    await t.stop();
  }
});

Deno.test({ name: "cluster files: a room's file taken by members on two other nodes", ignore }, async () => {
  const t = await startTestCluster();
  try {
    const [a, b, d] = [await t.e2eClient("alice"), await t.e2eClient("bob"), await t.e2eClient("dave")];
    for (const x of [a, b, d]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob", "dave"]);
    await a.client.send({ kind: "room", name: "team" }, "hello");
    const data = bytes(300_000);
    const sent = await FileTransfers.of(a.client).sendRoom("#team", await source(t, "plan.pdf", data));
    const recs = await Promise.all([b, d].map(async (x) => {
      const ft = FileTransfers.of(x.client);
      return [
        ft,
        (await eventually(async () => (await ft.incoming()).find((r) => r.fid === sent.fid)))!,
      ] as const;
    }));
    // Both take it at once, from nodes 2 and 3: each records its take in the shared sidecar.
    const got = await Promise.all(recs.map(([ft, rec], i) => ft.accept(rec, `${t.dir}/down${i}`)));
    for (const g of got) assert.deepEqual(await Deno.readFile(g.path), data);
    for (const n of t.nodes) {
      await eventually(() => n.files.get(sent.fid)?.state === "done" || null, 5000, "done on every node");
    }
    assert.deepEqual(t.srv.files.get(sent.fid)?.took?.sort(), ["bob", "dave"]);
    // The ciphertext goes once it is done (unlinked after the reply: FileStore.done).
    const gone = () =>
      Deno.stat(`${t.srv.files.dir}/${sent.fid}.bin`).then(
        () => false,
        (e) => e instanceof Deno.errors.NotFound,
      );
    await eventually(gone, 5000, "the ciphertext unlinked");
  } finally {
    await t.stop();
  }
});

Deno.test(
  { name: "cluster files: an upload and a download cut on one node resume on another", ignore },
  async () => {
    const t = await startTestCluster();
    try {
      const a = await t.e2eClient("alice"); // node 1
      const b = await t.e2eClient("bob"); // node 2
      await a.client.sync();
      await b.client.sync();
      const data = bytes(3 * 1024 * 1024 + 5);
      const path = await source(t, "movie.mkv", data);
      let bodies = 0; // alice's connection dies after her second body
      const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, (pr) => {
        if (pr.state === "active" && ++bodies === 3) void a.client.conn.close();
      });
      await assert.rejects(fa.send("bob", path));
      const a2 = await t.e2eClient("alice", { register: false }); // node 3
      let sentFrom = -1;
      const sent = await FileTransfers.of(a2.client, (pr) => {
        if (sentFrom < 0) sentFrom = pr.done;
      }).send("bob", path);
      assert.ok(sentFrom > 0, `the upload resumed on node 3 from ${sentFrom}, not from the start`);
      let chunks = 0;
      const fb = new FileTransfers(b.client, FileTransfers.of(b.client).ops, (pr) => {
        if (pr.state === "active" && pr.done > 0 && ++chunks === 2) void b.client.conn.close();
      });
      const rec = (await eventually(async () => (await fb.incoming()).find((r) => r.fid === sent.fid)))!;
      await assert.rejects(fb.accept(rec, `${t.dir}/down`));
      const part = (await Deno.stat(`${t.dir}/down/movie.mkv.part`)).size;
      assert.ok(part > 0 && part < data.length, `part ${part}`);
      const b2 = await t.e2eClient("bob", { register: false }); // the next node round-robin: node 1
      let from = -1;
      const fb2 = FileTransfers.of(b2.client, (pr) => {
        if (from < 0) from = pr.done;
      });
      const done = await fb2.accept(rec, `${t.dir}/down`);
      assert.ok(from > 0, `resumed from ${from}, not from the start`);
      assert.equal(await sha256Hex(await Deno.readFile(done.path)), sent.sha256);
    } finally {
      await t.stop();
    }
  },
);

Deno.test(
  { name: "cluster files: file.wait on one node wakes on a change made on another", ignore },
  async () => {
    const t = await startTestCluster();
    try {
      const a = (await t.e2eClient("alice")).client.conn; // node 1
      const b = (await t.e2eClient("bob")).client.conn; // node 2
      const half = new Uint8Array(100_000).fill(3);
      const put = (fid: string, off: number) =>
        a.request("file.put", { fid, to: "bob", size: 200_000, off }, half);
      const wait = async (c: typeof a, fid: string, have: number, state: string, ms = 20_000) => {
        const t0 = performance.now();
        const r = await c.request("file.wait", { fid, have, state, ms });
        return { have: r.header.have, state: r.header.state, ms: performance.now() - t0 };
      };
      const fid = "cluster-wait-0001";
      await put(fid, 0);
      const body = wait(b, fid, 100_000, "uploading"); // bob, ahead of alice, on node 2
      await held(t, 1, fid);
      await put(fid, 100_000);
      const w1 = await body;
      assert.equal(w1.have, 200_000, "woken by the body stored on node 1");
      assert.equal(w1.state, "ready", "and the file complete");
      assert.ok(w1.ms < 2000, `woke after ${w1.ms.toFixed(0)} ms`);

      const taken = wait(a, fid, 200_000, "ready"); // alice, waiting for delivery on node 1
      await held(t, 0, fid);
      await b.request("file.done", { fid });
      const w2 = await taken;
      assert.equal(w2.state, "done", "woken by bob taking it on node 2");
      assert.ok(w2.ms < 2000, `woke after ${w2.ms.toFixed(0)} ms`);

      const gone = "cluster-wait-0002";
      await put(gone, 0);
      const t0 = performance.now();
      const withdrawn = b.request("file.wait", { fid: gone, have: 100_000, state: "uploading", ms: 20_000 });
      await held(t, 1, gone);
      await a.request("file.abort", { fid: gone });
      await assert.rejects(withdrawn, (e) => e instanceof BackendError && e.code === "no_such_file");
      const ms = performance.now() - t0;
      assert.ok(ms < 2300, `bob's wait ended ${ms.toFixed(0)} ms after alice withdrew it`);

      // Node 2 misses every file event (the bus is at most once): a wait that runs out reads the folder.
      t.nodes[1]!.cluster!.files!.on = () => Promise.resolve();
      const lost = "cluster-wait-0003";
      await put(lost, 0);
      const late = wait(b, lost, 100_000, "uploading", 1500);
      await held(t, 1, lost);
      await put(lost, 100_000);
      const w3 = await late;
      assert.deepEqual(
        [w3.have, w3.state],
        [200_000, "ready"],
        "the timed-out wait's answer is the folder's",
      );
    } finally {
      await t.stop();
    }
  },
);
