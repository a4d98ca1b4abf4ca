/** The ChatBackend conformance suite against the real thing: LiveBackend over ChatClient on an in-process server. */
import { backendConformance } from "../lib/client/backend_conformance.ts";
import { LiveBackend } from "../lib/client/core/live_backend.ts";
import { startTestServer } from "./helpers.ts";

backendConformance("LiveBackend on a real server", async () => {
  const t = await startTestServer();
  const bob = await t.client("bob");
  const live = new LiveBackend(await t.client("alice"), null);
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
});
