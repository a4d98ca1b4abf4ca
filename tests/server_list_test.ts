/** `--server a:9797,b:9797` (issue 16): the client tries the nodes in order and moves on when one is down. */
import assert from "node:assert/strict";
import { openConnection, resolveTarget } from "../lib/client/session_setup.ts";
import { fingerprintPem } from "../lib/net/cert.ts";
import { freePort } from "./cluster_harness.ts";
import { startTestServer } from "./helpers.ts";

const env = (m: Record<string, string>) => ({ get: (n: string) => m[n] });

Deno.test("resolveTarget: a comma list names every node in order; one server stays as before", () => {
  const t = resolveTarget({}, env({ PARLEY_SERVER: "a.example:9001, [::1]:9002,c", HOME: "/h" }));
  assert.deepEqual([t.host, t.port, t.server], ["a.example", 9001, "a.example:9001"]);
  assert.deepEqual(t.nodes, [{ host: "a.example", port: 9001 }, { host: "::1", port: 9002 }, {
    host: "c",
    port: 9797,
  }]);
  assert.equal(resolveTarget({ server: "x:1" }, env({})).nodes, undefined);
  assert.throws(() => resolveTarget({ server: "x:1,y:99999" }, env({})), { code: "bad_server" });
});

Deno.test("openConnection: a node that is down is skipped for the next one in the list", async () => {
  const t = await startTestServer();
  const home = await Deno.makeTempDir({ prefix: "parley-list-" });
  try {
    const dead = await freePort();
    const fingerprint = await fingerprintPem(t.cert);
    const r = resolveTarget({ server: `127.0.0.1:${dead},127.0.0.1:${t.port}`, home }, env({}));
    const conn = await openConnection(r, { fingerprint }, {});
    await conn.close();
    const only = resolveTarget({ server: `127.0.0.1:${dead}`, home }, env({}));
    await assert.rejects(openConnection(only, { fingerprint }, {}), { code: "unreachable" });
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});
