/**
 * The ChatBackend conformance suite against the real things: the conversation core (ChatClient) on an
 * in-process server, and PeerBackend over two peer nodes on loopback (peer mode, no server).
 */
import { backendConformance } from "../lib/client/backend_conformance.ts";
import { PeerBackend } from "../lib/client/peer/backend.ts";
import { PeerNode } from "../lib/client/peer/node.ts";
import { PeerStore } from "../lib/client/peer/store.ts";
import { startTestServer } from "./helpers.ts";

backendConformance("ChatClient on a real server", async () => {
  const t = await startTestServer();
  const bob = await t.client("bob");
  const live = await t.client("alice");
  await live.start();
  return {
    backend: live,
    peer: "bob",
    peerSends: async (text) => void await bob.send({ kind: "user", name: "alice" }, text),
    done: async () => {
      await live.close();
      await t.stop();
    },
  };
}, ["rooms", "moderation", "video"]);

backendConformance("ChatClient with end-to-end keys", async () => {
  const t = await startTestServer();
  const bob = (await t.e2eClient("bob")).client;
  const live = (await t.e2eClient("alice")).client;
  await live.start();
  return {
    backend: live,
    peer: "bob",
    peerSends: async (text) => void await bob.send({ kind: "user", name: "alice" }, text),
    done: async () => {
      await live.close();
      await t.stop();
    },
  };
}, ["rooms", "moderation", "video", "blocks"]);

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
}, ["files", "peers"]);
