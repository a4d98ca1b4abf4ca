import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { memoryLogger } from "../common/logger.ts";
import { MemoryBusNet } from "./bus/bus.ts";
import { CertCheck } from "./cert_check.ts";
import { until } from "../common/wait_testing.ts";

Deno.test("CertCheck: a node whose certificate differs from the others' is named in their logs, and they in its, once", async () => {
  const net = new MemoryBusNet();
  const key = new Uint8Array(32).fill(7);
  const nodes = [["node-a", "SHA256:AA"], ["node-b", "SHA256:AA"], ["node-c", "SHA256:CC"]].map(
    ([node, fp]) => {
      const bus = net.join(node!, { key });
      const { logger, lines } = memoryLogger(new ManualClock(0));
      const c = new CertCheck(bus, logger, fp!);
      bus.subscribe((from, e) => e.t === "cert" && c.on(from, e));
      return { c, lines };
    },
  );
  for (const n of nodes) n.c.start(); // in turn, as nodes start; each also answers the ones it had not heard
  nodes[0]!.c.start(); // node-a restarts: nobody says it again
  const certWarnings = () => nodes.map((n) => n.lines.filter((l) => l.includes("cluster.cert")));
  await until(() => certWarnings().every((w, i) => w.length >= (i === 2 ? 2 : 1)), "every node warned");
  await net.settled(); // the fence for "once": every event on the bus, and those it made, handled
  const warned = certWarnings();
  assert.equal(warned[0]!.length, 1);
  assert.match(warned[0]![0]!, /other=node-c .*otherFingerprint=SHA256:CC .*same --tls-cert and --tls-key/);
  assert.equal(warned[1]!.length, 1);
  assert.match(warned[1]![0]!, /other=node-c /);
  assert.deepEqual(warned[2]!.map((l) => /other=(\S+)/.exec(l)![1]).sort(), ["node-a", "node-b"]);
  assert.deepEqual([...nodes[0]!.c.nodes.keys()].sort(), ["node-b", "node-c"]);
});
