/**
 * The Link conformance suite (lib/client/core/link_conformance.ts) against both implementations: the
 * server relay (ChatClient's ServerLink) on an in-process server, and the peer channel (PeerNode's
 * ChannelLink) between two peer nodes on loopback, with Double Ratchet envelopes sealed by the
 * sending node.
 */
import { utf8 } from "../lib/common/bytes.ts";
import { linkConformance } from "../lib/client/core/link_conformance.ts";
import { encodePayload } from "../lib/client/e2e/keys.ts";
import { PeerNode } from "../lib/client/peer/node.ts";
import { say } from "../lib/client/peer/events_testing.ts";
import { PeerStore } from "../lib/client/peer/store.ts";
import { eventually, startTestServer } from "./helpers.ts";

linkConformance("server relay", async () => {
  const t = await startTestServer();
  const [alice, bob] = [await t.client("alice"), await t.client("bob")];
  await bob.sync(); // live pushes follow the offline queue
  return {
    a: alice.link,
    b: bob.link,
    from: "alice",
    toB: { kind: "user", name: "bob" },
    seal: (_mid, text) => Promise.resolve(utf8.encode(text)),
    unknown: { to: { kind: "user", name: "nobody" }, code: "no_such_user" },
    close: () => t.stop(),
  };
});

const peerNode = async (name: string) =>
  await PeerNode.start({ name, store: await PeerStore.open(null, name), hostname: "127.0.0.1", port: 0 });

linkConformance("peer channel", async () => {
  const [alice, bob] = [await peerNode("alice"), await peerNode("bob")];
  await alice.connect(`127.0.0.1:${bob.port}`);
  await eventually(() => alice.peers().some((p) => p.name === "bob" && p.online), 5000, "bob online");
  // One message through the outbox first: the ratchet session alice → bob exists from then on.
  const first = await say(alice, "bob", "hello");
  await eventually(() => bob.inbox("alice").some((m) => m.mid === first.mid), 5000, "the first message");
  return {
    a: alice.link,
    b: bob.link,
    from: "alice",
    toB: { kind: "user", name: "bob" },
    seal: (mid, text) => alice.dm.encryptDm("bob", null, encodePayload({ v: 1, k: "text", mid, text })),
    unknown: { to: { kind: "user", name: "nobody" }, code: "no_such_peer" },
    close: async () => {
      await alice.close();
      await bob.close();
    },
  };
});
