/**
 * The ChatBackend conformance suite against the real things: the conversation core (ChatClient) on an
 * in-process server, and ChatClient over a peer node's PeerSession, two nodes on loopback (peer mode, no server).
 */
import { backendConformance } from "../lib/client/backend_conformance.ts";
import { PeerNode } from "../lib/client/peer/node.ts";
import { say } from "../lib/client/peer/events_testing.ts";
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

/** What the core offers on any server, whatever its keys and folder. */
const CORE_CAPS = [
  "rooms",
  "moderation",
  "video",
  "away",
  "changes",
  "outbox",
  "feed",
  "typing",
  "remote",
  "keys",
] as const;
backendConformance("ChatClient on a real server", onServer(false), CORE_CAPS);
backendConformance("ChatClient with end-to-end keys", onServer(true), [...CORE_CAPS, "blocks", "local"]);

const peerNode = async (name: string) =>
  await PeerNode.start({ name, store: await PeerStore.open(null, name), hostname: "127.0.0.1", port: 0 });

backendConformance("ChatClient over a peer node's session (peer mode)", async () => {
  const [alice, bob] = [await peerNode("alice"), await peerNode("bob")];
  const backend = alice.backend();
  await alice.connect(`127.0.0.1:${bob.port}`);
  // Connected both ways (bob has said hello to alice) before the cases start.
  while (!alice.peers().some((p) => p.name === "bob" && p.online)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    backend,
    peer: "bob",
    peerSends: (text) => say(bob, "alice", text).then(() => {}),
    done: async () => {
      await backend.close();
      await bob.close();
    },
  };
}, ["files", "peers", "changes", "outbox", "feed", "typing", "keys", "local"]);
