/**
 * Relayed files between spawned `server.ts` nodes: with `--files-dir` on one folder both
 * nodes share, a file sent by a user on node 1 reaches a user on node 2 intact; with each node's own
 * folder, the receiver is told early and plainly (`files_not_shared`, naming --files-dir and
 * --direct), and each node's log warns that the other does not share its files folder.
 */
import assert from "node:assert/strict";
import { BackendError } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { serverKey } from "../lib/client/session/trust.ts";
import { attachE2e } from "../lib/client/start/e2e_attach.ts";
import { clusterSkip, fileEngines } from "./cluster_harness.ts";
import { type SpawnedNode, spawnNode } from "./cluster_spawn.ts";
import { eventually, testArgon, testCert, testKdf } from "./helpers.ts";

// The throwaway engines stop after the file's tests, whatever ran or failed (cluster_harness.ts).
const engines = fileEngines();
const both = engines.both;
Deno.test.afterAll(engines.stop);
const ignore = clusterSkip !== null;

/** An end-to-end encrypting client of `user` on the node at `port`, its folder under `dir`. */
async function e2eOn(dir: string, port: number, user: string): Promise<ChatClient> {
  const cert = (await testCert()).cert;
  const home = `${dir}/home-${user}`;
  await Deno.mkdir(home, { recursive: true });
  const store = new LocalStore(LocalStore.pathFor(home, user, await serverKey(cert)));
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
  const password = `pw-${user}-secret`;
  const c = await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password,
    register: true,
    store,
    kdf: testKdf,
  });
  await attachE2e(c, password, { params: testArgon });
  return c;
}

/** Two nodes (with `args` each), alice on node 1 sending bob on node 2 a file; `fn` takes it on. */
async function twoNodes(
  args: (dir: string) => string[],
  fn: (
    o: {
      dir: string;
      nodes: SpawnedNode[];
      alice: FileTransfers;
      bob: FileTransfers;
      fid: string;
      data: Uint8Array;
    },
  ) => Promise<void>,
): Promise<void> {
  const { pg, nats } = await both();
  const dir = await Deno.makeTempDir({ prefix: "parley-cfiles-" });
  const url = await pg.newDatabase();
  const nodes: SpawnedNode[] = [];
  const clients: ChatClient[] = [];
  try {
    for (let i = 0; i < 2; i++) nodes.push(await spawnNode(dir, url, nats.url, { args: args(dir) }));
    const alice = await e2eOn(dir, nodes[0]!.port, "alice");
    clients.push(alice);
    const bobC = await e2eOn(dir, nodes[1]!.port, "bob");
    clients.push(bobC);
    await alice.sync();
    await bobC.sync();
    const data = new Uint8Array(700_000).map((_, i) => i * 13);
    await Deno.writeFile(`${dir}/x.bin`, data);
    const sent = await FileTransfers.of(alice).send("bob", `${dir}/x.bin`, "relay");
    const bob = FileTransfers.of(bobC);
    await eventually(async () => (await bob.incoming()).find((r) => r.fid === sent.fid), 5000, "the offer");
    await fn({ dir, nodes, alice: FileTransfers.of(alice), bob, fid: sent.fid, data });
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    for (const n of nodes) await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const offer = async (ft: FileTransfers, fid: string) => (await ft.incoming()).find((r) => r.fid === fid)!;

Deno.test(
  { name: "cluster files: spawned nodes sharing --files-dir relay a file across nodes", ignore },
  async () => {
    await twoNodes((dir) => ["--files-dir", `${dir}/shared-files`], async ({ dir, bob, fid, data }) => {
      const got = await bob.accept(await offer(bob, fid), `${dir}/down`);
      assert.deepEqual(await Deno.readFile(got.path), data);
    });
  },
);

Deno.test(
  { name: "cluster files: spawned nodes with their own files folders fail plainly", ignore },
  async () => {
    await twoNodes(() => [], async ({ dir, nodes, bob, fid }) => {
      await assert.rejects(bob.accept(await offer(bob, fid), `${dir}/down`), (e) => {
        assert.ok(e instanceof BackendError, String(e));
        assert.equal(e.code, "files_not_shared");
        assert.match(e.message, /--files-dir on a folder every node shares/);
        assert.match(e.message, /--direct/);
        return true;
      });
      // Each node's log names the other and its folder (read before they stop: logs are per data folder).
      const logs: string[] = [];
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory && e.name.startsWith("node-")) {
          logs.push(await Deno.readTextFile(`${dir}/${e.name}/parley.log`).catch(() => ""));
        }
      }
      const warned = logs.filter((l) => /cluster\.files.*does not share this node's --files-dir/.test(l));
      assert.equal(warned.length, nodes.length, `every node warns:\n${logs.join("\n---\n")}`);
      // Both present the same certificate (spawnNode gives each the test one): no word of it.
      assert.ok(logs.every((l) => !l.includes("cluster.cert")), logs.join("\n---\n"));
    });
  },
);

Deno.test(
  { name: "cluster files: --direct goes straight across nodes with their own files folders", ignore },
  async () => {
    await twoNodes(() => [], async ({ dir, alice, bob, fid }) => {
      // The refusal of the relayed file advises --direct: that must work between these nodes.
      const data = new Uint8Array(900_000).map((_, i) => i * 7);
      await Deno.writeFile(`${dir}/d.bin`, data);
      const taking = (async () => {
        const rec = await eventually(
          async () => (await bob.incoming()).find((r) => r.state === "offered" && r.fid !== fid),
          10_000,
          "the direct offer",
        );
        return await bob.accept(rec!, `${dir}/down`);
      })();
      const [sent, got] = await Promise.all([alice.send("bob", `${dir}/d.bin`, "direct", 20_000), taking]);
      assert.equal(sent.via, "direct");
      assert.equal(got.via, "direct");
      assert.deepEqual(await Deno.readFile(got.path), data);
      // Bob's done could not reach alice's node: her client withdrew the record there itself.
      assert.equal((await alice.serverFiles()).find((f) => f.fid === sent.fid), undefined);
    });
  },
);
