/**
 * The cluster's own connections, locked down (issue 33 item 2): NATS with users, passwords and subject
 * permissions, or nkeys; NATS over TLS verified against a CA, with client certificates; PostgreSQL over TLS verified against a CA; and
 * spawned `server.ts` nodes started with the documented flags on all of them.
 */
import assert from "node:assert/strict";
import { connect, nkeys } from "nats";
import type { ChatMessage } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import type { BusEvent } from "../lib/server/bus/bus.ts";
import { NatsBus } from "../lib/server/bus/nats_bus.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import { clusterSkip, makeTestCa, startNats, startPostgres, TEST_CLUSTER_KEY } from "./cluster_harness.ts";
import { login, spawnNode } from "./cluster_spawn.ts";
import { eventually } from "./helpers.ts";

const ignore = clusterSkip !== null;
const key = TEST_CLUSTER_KEY;
const enc = new TextEncoder();

const NATS_USERS = `authorization {
  users = [
    { user: "parley", password: "node-secret-pw", permissions: { publish: "parley.>", subscribe: "parley.>" } }
    { user: "guest", password: "guest-pw", permissions: { publish: "chat.>", subscribe: "chat.>" } }
  ]
}
`;

/** Two buses on `url`: resolves once an event of one reaches the other. */
async function talk(url: string, o: Partial<Parameters<typeof NatsBus.open>[2]> = {}) {
  const subject = `parley.t${crypto.randomUUID().slice(0, 8)}`;
  const [a, b] = await Promise.all(["a", "b"].map((n) => NatsBus.open(url, n, { key, subject, ...o })));
  const got: BusEvent[] = [];
  b!.subscribe((_f, e) => got.push(e));
  await b!.nc.flush();
  a!.publish({ t: "user", user: "hello" });
  await eventually(() => got.length === 1, 3000, "an event between nodes");
  return { a: a!, b: b!, got, subject };
}

/**
 * Every test of this file has NATS refuse connections (no password, a wrong one, no certificate, another
 * CA). nats.js may raise such a refusal (an alert or a reset) a second time as an uncaught error, at any
 * moment after it: in this file, those are expected; anything else still fails the file.
 */
globalThis.addEventListener("error", (e: ErrorEvent) => {
  if (/ECONNRESET|BadCertificate|certificate/i.test(String(e.error))) e.preventDefault();
});

/** Asserts that a TLS connection to NATS is refused (a late stray refusal lands in the handler above). */
async function refused(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, what);
}

Deno.test({
  name:
    "bus auth: nodes with NATS's password talk; no password or a wrong one is refused; a user without rights on the subject reaches no node",
  ignore,
  async fn() {
    const nats = await startNats({ conf: NATS_USERS });
    const at = (cred: string) => `nats://${cred}127.0.0.1:${nats.port}`;
    try {
      const { a, b, got, subject } = await talk(at("parley:node-secret-pw@"));
      await assert.rejects(NatsBus.open(at(""), "c", { key, subject }), /authorization/i);
      await assert.rejects(NatsBus.open(at("parley:wrong@"), "c", { key, subject }), /authorization/i);
      const guest = await connect({ servers: `127.0.0.1:${nats.port}`, user: "guest", pass: "guest-pw" });
      const denied: string[] = [];
      (async () => {
        for await (const s of guest.status()) {
          // A refusal names what it refused: "subscription" or "publish".
          const op = (s as { permissionContext?: { operation?: string } }).permissionContext?.operation;
          denied.push(op ? `${s.data} ${op}` : String(s.data));
        }
      })();
      const spy: Uint8Array[] = [];
      const sub = guest.subscribe(subject);
      (async () => {
        for await (const m of sub) spy.push(m.data);
      })().catch(() => {});
      guest.publish(subject, enc.encode(JSON.stringify({ from: "x", e: { t: "user", user: "forged" } })));
      await guest.flush().catch(() => {});
      a.publish({ t: "user", user: "second" });
      await eventually(() => got.length === 2, 3000, "the nodes still talk");
      // The events: NATS refused the guest's subscription and its publish (each told as a violation):
      // a refused subscription hears nothing, a refused message reaches no node.
      const violation = (what: string) =>
        denied.some((d) => new RegExp(`^PERMISSIONS_VIOLATION ${what}$`).test(d));
      await eventually(
        () => violation("subscription") && violation("publish"),
        5000,
        `NATS refused the guest's subscription and publish (told: ${denied})`,
      );
      assert.deepEqual(got, [{ t: "user", user: "hello" }, { t: "user", user: "second" }]);
      assert.deepEqual(spy, [], "the guest hears nothing on the subject");
      await guest.close().catch(() => {});
      await Promise.all([a.close(), b.close()]);
    } finally {
      await nats.stop();
    }
  },
});

Deno.test({
  name:
    "bus TLS: a node verifies NATS's certificate against --bus-tls-ca; without it, or with another CA, it does not connect",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-tls-" });
    const ca = await makeTestCa(dir);
    const other = await makeTestCa(dir, "other");
    const nats = await startNats({ tls: ca });
    try {
      const { a, b } = await talk(`tls://127.0.0.1:${nats.port}`, { tls: { ca: ca.caPem } });
      await Promise.all([a.close(), b.close()]);
      const url = `nats://127.0.0.1:${nats.port}`;
      await refused(NatsBus.open(url, "c", { key }), "no CA: the self-signed chain is refused");
      await refused(NatsBus.open(url, "c", { key, tls: { ca: other.caPem } }), "another CA is refused");
    } finally {
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "bus auth: a node with its nkey seed (--bus-nkey) joins a NATS that lists users by nkey; without it, refused",
  ignore,
  async fn() {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const nats = await startNats({
      conf:
        `authorization { users = [ { nkey: "${user.getPublicKey()}", permissions: { publish: "parley.>", ` +
        `subscribe: "parley.>" } } ] }\n`,
    });
    try {
      const url = `nats://127.0.0.1:${nats.port}`;
      const { a, b } = await talk(url, { nkeySeed: seed + "\n" });
      await Promise.all([a.close(), b.close()]);
      await assert.rejects(NatsBus.open(url, "c", { key }), /authorization/i);
      const other = new TextDecoder().decode(nkeys.createUser().getSeed());
      await assert.rejects(NatsBus.open(url, "c", { key, nkeySeed: other }), /authorization/i);
    } finally {
      await nats.stop();
    }
  },
});

Deno.test({
  name:
    "bus TLS: a NATS that verifies clients takes a node with --bus-tls-cert/--bus-tls-key and refuses one without",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-tls-" });
    const ca = await makeTestCa(dir);
    const nats = await startNats({ tls: ca, verifyClients: true });
    try {
      const url = `tls://127.0.0.1:${nats.port}`;
      const [cert, k] = await Promise.all([Deno.readTextFile(ca.certFile), Deno.readTextFile(ca.keyFile)]);
      const { a, b } = await talk(url, { tls: { ca: ca.caPem, cert, key: k } });
      await Promise.all([a.close(), b.close()]);
      await refused(NatsBus.open(url, "c", { key, tls: { ca: ca.caPem } }), "no client certificate");
    } finally {
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "store TLS: --store-tls-ca verifies PostgreSQL's certificate; sslmode=require encrypts; plain or another CA is refused",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-tls-" });
    const ca = await makeTestCa(dir);
    const other = await makeTestCa(dir, "other");
    const pg = await startPostgres({ tls: ca });
    try {
      const url = await pg.newDatabase();
      const s = await PostgresStore.open(url, { tlsCa: ca.caPem, maxConnections: 1 });
      assert.equal(await s.lastSeq(), 0);
      await s.close();
      const r = await PostgresStore.open(`${url}?sslmode=require`, { maxConnections: 1 });
      await r.close();
      await assert.rejects(PostgresStore.open(url, { maxConnections: 1 }), /pg_hba|no encryption|SSL/i);
      await assert.rejects(PostgresStore.open(url, { tlsCa: other.caPem, maxConnections: 1 }));
    } finally {
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "nodes: two server.ts nodes on TLS PostgreSQL and a TLS NATS with a password (the README's flags) carry a DM; no password in the logs",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-tls-nodes-" });
    const ca = await makeTestCa(dir);
    const [pg, nats] = await Promise.all([
      startPostgres({ tls: ca }),
      startNats({ conf: NATS_USERS, tls: ca }),
    ]);
    const clients: ChatClient[] = [];
    const nodes: Awaited<ReturnType<typeof spawnNode>>[] = [];
    try {
      const store = await pg.newDatabase();
      const bus = `tls://parley:node-secret-pw@127.0.0.1:${nats.port}`;
      const args = ["--store-tls-ca", ca.caFile, "--bus-tls-ca", ca.caFile];
      for (let i = 0; i < 2; i++) nodes.push(await spawnNode(dir, store, bus, { args }));
      const alice = await login(nodes[0]!.port, "alice", true);
      const bob = await login(nodes[1]!.port, "bob", true);
      clients.push(alice, bob);
      await Promise.all([alice.sync(), bob.sync()]);
      const got: ChatMessage[] = [];
      bob.on((e) => e.type === "message" && got.push(e.message));
      await alice.send({ kind: "user", name: "bob" }, "over TLS everywhere");
      await eventually(() => got.length === 1, 5000, "DM across nodes");
      await eventually(
        async () => (await bob.who()).some((p) => p.user === "alice"),
        5000,
        "who across nodes",
      );
      for (const e of Deno.readDirSync(dir)) {
        if (!e.name.startsWith("node-")) continue;
        const log = await Deno.readTextFile(`${dir}/${e.name}/parley.log`);
        assert.match(log, /cluster\.join/);
        assert.ok(!log.includes("node-secret-pw"), "the NATS password is not logged");
      }
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      for (const n of nodes) await n.stop();
      await Promise.all([pg.stop(), nats.stop()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
