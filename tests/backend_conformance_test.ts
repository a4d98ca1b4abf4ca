/**
 * The ChatBackend conformance suite against the real things: the conversation core (ChatClient) on an
 * in-process server, and PeerBackend over two peer nodes on loopback (peer mode, no server).
 */
import { backendConformance } from "../lib/client/backend_conformance.ts";
import { PeerBackend } from "../lib/client/peer/backend.ts";
import { PeerNode } from "../lib/client/peer/node.ts";
import { PeerStore } from "../lib/client/peer/store.ts";
import { startTestServer } from "./helpers.ts";

/** The core on an in-process server: alice follows the feed, bob writes to her; plain or with end-to-end keys. */
const onServer = (keys: boolean) => async () => {
  const t = await startTestServer();
  const client = async (u: string) => keys ? (await t.e2eClient(u)).client : await t.client(u);
  const bob = await client("bob");
  const live = await client("alice");
  await live.start();
  return {
    backend: live,
    peer: "bob",
    peerSends: async (text: string) => void await bob.send({ kind: "user", name: "alice" }, text),
    done: async () => {
      await live.close();
      await t.stop();
    },
  };
};

backendConformance("ChatClient on a real server", onServer(false), [
  "rooms",
  "moderation",
  "video",
  "changes",
  "outbox",
  "feed",
]);
backendConformance("ChatClient with end-to-end keys", onServer(true), [
  "rooms",
  "moderation",
  "video",
  "blocks",
  "changes",
  "outbox",
  "feed",
]);

const peerNode = async (name: string) =>
  await PeerNode.start({ name, store: await PeerStore.open(null, name), hostname: "127.0.0.1", port: 0 });

backendConformance("PeerBackend over two peer nodes", async () => {
  const [alice, bob] = [await peerNode("alice"), await peerNode("bob")];
  const backend = new PeerBackend(alice);
  await alice.connect(`127.0.0.1:${bob.port}`);
  // Connected both ways (bob has said hello to alice) before the cases start.
  while (!alice.peers().some((p) => p.name === "bob" && p.online)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    backend,
    peer: "bob",
    peerSends: (text) => Promise.resolve(void bob.send("alice", text)),
    done: async () => {
      await backend.close();
      await bob.close();
    },
  };
}, ["files", "peers", "changes", "outbox", "feed"]);
