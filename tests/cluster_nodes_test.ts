/**
 * Spawned `server.ts` nodes on one throwaway PostgreSQL and NATS (issue 16): a Postgres node without
 * a bus refuses to start beside a live node; `kill -9` of a node mid-traffic loses nothing that was
 * acknowledged, and its users go offline on the other node.
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../lib/client/backend.ts";
import { ChatClient } from "../lib/client/chat_client.ts";
import { Connection } from "../lib/client/connection.ts";
import {
  clusterSkip,
  startNats,
  startPostgres,
  type TestNats,
  type TestPostgres,
} from "./cluster_harness.ts";
import { eventually, PROGRAM_PERMS, rootFile, testCert } from "./helpers.ts";

let engines: Promise<{ pg: TestPostgres; nats: TestNats }> | null = null;
const both = () =>
  engines ??= (async () => {
    const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
    return { pg, nats };
  })();

interface SpawnedNode {
  port: number;
  child: Deno.ChildProcess;
  stop(): Promise<void>;
}

async function certFiles(dir: string): Promise<{ cert: string; key: string }> {
  const t = await testCert();
  await Deno.writeTextFile(`${dir}/cert.pem`, t.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, t.key);
  return { cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
}

/** Starts a node; resolves with its port, or rejects with its stderr when it exits first. */
async function spawnNode(dir: string, store: string, bus: string | null): Promise<SpawnedNode> {
  const files = await certFiles(dir);
  const data = await Deno.makeTempDir({ dir, prefix: "node-" });
  const args = ["run", ...PROGRAM_PERMS, rootFile("server.ts"), "--port", "0", "--host", "127.0.0.1"];
  args.push("--data", data, "--tls-cert", files.cert, "--tls-key", files.key, "--store", store);
  args.push("--msg-rate", "0", "--login-rate", "0");
  if (bus) args.push("--bus", bus);
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .spawn();
  const err = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`node exited: ${(await err).trim()}`);
    }
    out += value;
    const m = out.match(/Parley listening on .*:(\d+) \(TLS\)/);
    if (m) {
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return {
        port: Number(m[1]),
        child,
        async stop() {
          try {
            child.kill("SIGTERM");
          } catch { /* gone */ }
          await child.status;
          await err;
        },
      };
    }
  }
}

async function login(port: number, user: string, register: boolean): Promise<ChatClient> {
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: (await testCert()).cert });
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password: `pw-${user}-secret`,
    register,
  });
}

const ignore = clusterSkip !== null;

Deno.test({
  name: "nodes: a Postgres node without --bus refuses to start while another node is alive",
  ignore,
  async fn() {
    const { pg, nats } = await both();
    const dir = await Deno.makeTempDir({ prefix: "parley-nodes-" });
    const url = await pg.newDatabase();
    const a = await spawnNode(dir, url, nats.url);
    try {
      await assert.rejects(spawnNode(dir, url, null), /another node \(.+\) is using this database/);
    } finally {
      await a.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nodes: kill -9 of a node mid-traffic — every acknowledged message arrives once, in order",
  ignore,
  async fn() {
    const { pg, nats } = await both();
    const dir = await Deno.makeTempDir({ prefix: "parley-nodes-" });
    const url = await pg.newDatabase();
    const [a, b] = await Promise.all([spawnNode(dir, url, nats.url), spawnNode(dir, url, nats.url)]);
    const clients: ChatClient[] = [];
    try {
      const alice = await login(a.port, "alice", true);
      const bob = await login(b.port, "bob", true);
      clients.push(alice, bob);
      await Promise.all([alice.sync(), bob.sync()]);
      const seen: ChatMessage[] = [];
      bob.on((e) => {
        if (e.type === "message") {
          seen.push(e.message);
          bob.ack([e.message]).catch(() => {});
        }
      });
      const acked: string[] = [];
      const sending = (async () => {
        for (let i = 0; i < 60; i++) {
          await alice.send({ kind: "user", name: "bob" }, `n${i}`);
          acked.push(`n${i}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await eventually(() => seen.length >= 15, 5000, "traffic through node B");
      b.child.kill("SIGKILL");
      await b.child.status;
      await sending;
      await eventually(
        async () => !(await alice.who()).some((p) => p.user === "bob"),
        8000,
        "bob offline on node A after node B died",
      );
      const bob2 = await login(a.port, "bob", false);
      clients.push(bob2);
      const rest = await bob2.sync();
      const bySeq = new Map<number, string>();
      for (const m of [...seen, ...rest]) bySeq.set(m.seq, m.text);
      const got = [...bySeq].sort((x, y) => x[0] - y[0]).map(([, t]) => t);
      assert.deepEqual(got, acked, "every acknowledged message, once each, in order");
      const liveSeqs = new Set(seen.map((m) => m.seq));
      assert.ok(rest.filter((m) => liveSeqs.has(m.seq)).length <= 1, "at most the ack in flight is resent");
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await a.stop();
      await b.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "nodes: stop the throwaway PostgreSQL and nats-server",
  ignore,
  async fn() {
    if (!engines) return;
    const { pg, nats } = await engines;
    await Promise.all([pg.stop(), nats.stop()]);
  },
});
