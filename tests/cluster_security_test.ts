/**
 * The cluster bus as an attacker sees it (issue 33 item 2), on three in-process nodes sharing a
 * throwaway PostgreSQL and NATS: a publisher on the NATS subject without the cluster key makes no one
 * an admin, kicks no one and sends no notice; a listener sees no names or addresses; a role event
 * sealed under the key but untrue changes nothing, because nodes read the role from the store.
 */
import assert from "node:assert/strict";
import { connect } from "nats";
import type { BackendEvent } from "../lib/client/backend.ts";
import type { ChatClient } from "../lib/client/core/chat_client.ts";
import type { NatsBus } from "../lib/server/bus/nats_bus.ts";
import { clusterSkip } from "./cluster_harness.ts";
import { eventually, type TestServer } from "./helpers.ts";
import { startTestCluster } from "./topology.ts";

const ignore = clusterSkip !== null;
const enc = new TextEncoder();

function events(c: ChatClient): BackendEvent[] {
  const got: BackendEvent[] = [];
  c.on((e) => got.push(e));
  return got;
}

/** The NATS server and subject the nodes of `t` use. */
function wireOf(t: TestServer): { server: string; subject: string } {
  const bus = t.nodes[0]!.cluster!.bus as NatsBus;
  return { server: bus.nc.getServer(), subject: bus.subject };
}

Deno.test({
  name:
    "cluster attack: a publisher on the NATS subject without the key makes no admin, kicks no one, sends no notice",
  ignore,
  async fn() {
    const t = await startTestCluster();
    const { server, subject } = wireOf(t);
    const evil = await connect({ servers: server });
    try {
      const mallory = await t.client("mallory"); // node 1
      const alice = await t.client("alice"); // node 2
      const bob = await t.client("bob"); // node 3
      await Promise.all([mallory.sync(), alice.sync(), bob.sync()]);
      const [em, ea, eb] = [events(mallory), events(alice), events(bob)];
      const forge = (e: unknown) =>
        evil.publish(subject, enc.encode(JSON.stringify({ from: "node-evil", e })));
      forge({ t: "role", user: "mallory", role: "admin", note: "you are an admin now" });
      forge({ t: "kick", user: "alice", code: "kicked", reason: "forged kick" });
      forge({ t: "push", h: { t: "notice", level: "warn", text: "FORGED: send your password to mallory" } });
      await evil.flush();
      // Fences: a true push sent on the bus after the forgeries reaches each client after them.
      const fence = (n: number) =>
        t.nodes[n]!.cluster!.publish({ t: "push", h: { t: "notice", level: "info", text: `fence ${n}` } });
      fence(0); // to nodes 2 and 3
      fence(1); // to node 1
      const fenced = (es: BackendEvent[]) =>
        es.some((e) => e.type === "notice" && e.text.startsWith("fence"));
      await eventually(() => fenced(em) && fenced(ea) && fenced(eb), 5000, "every node has read the wire");
      assert.ok(!em.some((e) => e.type === "role"), "mallory got no role push");
      await assert.rejects(mallory.commands.grant("mallory"), /admin/i, "mallory is no admin");
      assert.equal((await t.srv.core.store.getUser("mallory"))?.role, "user");
      assert.ok((await alice.who()).length >= 3, "alice is still connected");
      for (const e of [...em, ...ea, ...eb]) {
        assert.ok(!(e.type === "notice" && e.text.includes("FORGED")), "no forged notice shown");
      }
    } finally {
      await evil.close();
      await t.stop();
    }
  },
});

Deno.test({
  name: "cluster attack: a listener on the NATS subject sees no user names or addresses in the heartbeats",
  ignore,
  async fn() {
    const t = await startTestCluster();
    const { server, subject } = wireOf(t);
    const spy = await connect({ servers: server });
    try {
      const seen: Uint8Array[] = [];
      const sub = spy.subscribe(subject);
      (async () => {
        for await (const m of sub) seen.push(m.data);
      })();
      await spy.flush();
      const c = await t.client("zelda-sniffed");
      await c.sync();
      await eventually(() => seen.length >= 6, 5000, "heartbeats on the wire");
      // The event: the other nodes know zelda (her presence crossed the wire), and the spy has read
      // everything the bus sent before its flush.
      await eventually(
        () =>
          t.nodes.every((n) =>
            n.hub.byUser.has("zelda-sniffed") ||
            n.cluster!.remotePresence().some((p) => p.user === "zelda-sniffed")
          ) || null,
        5000,
        "zelda's presence across the nodes",
      );
      await spy.flush();
      const text = seen.map((x) => new TextDecoder("latin1").decode(x)).join("\n");
      assert.ok(!text.includes("zelda-sniffed"), "no user name in clear");
      assert.ok(!text.includes("127.0.0.1"), "no address in clear");
      assert.ok(!text.includes("presence"), "no event kind in clear");
    } finally {
      await spy.close();
      await t.stop();
    }
  },
});

Deno.test({
  name:
    "cluster attack: a role event sealed under the key but untrue changes nothing; a real grant still reaches every node",
  ignore,
  async fn() {
    const t = await startTestCluster();
    try {
      const root = await t.client("root"); // node 1
      const mallory = await t.client("mallory"); // node 2
      await Promise.all([root.sync(), mallory.sync()]);
      const em = events(mallory);
      // Node 2's reads of mallory's record: a role event is answered once the store has said.
      const store = t.nodes[1]!.core.store, getUser = store.getUser.bind(store);
      let read = 0;
      store.getUser = async (name) => {
        const u = await getUser(name);
        if (name === "mallory") read++;
        return u;
      };
      // A node's own bus (it holds the key) says mallory is an admin; the store says otherwise.
      t.nodes[0]!.cluster!.publish({ t: "role", user: "mallory", role: "admin", note: "forged grant" });
      await eventually(() => read > 0, 5000, "node 2 read mallory's role on the event");
      await mallory.sync(); // fence: after whatever node 2 sent her once it had read
      assert.ok(!em.some((e) => e.type === "role"), "no role push from an untrue event");
      await assert.rejects(mallory.commands.grant("mallory"), /admin/i);
      // A real grant on node 1 (store first, then the event) reaches mallory on node 2.
      await t.srv.core.setRole("console", "mallory", "admin");
      await eventually(() => em.some((e) => e.type === "role" && e.role === "admin"), 3000, "real grant");
      assert.ok(em.some((e) => e.type === "notice" && e.text.includes("made you an admin")));
    } finally {
      await t.stop();
    }
  },
});
