/** The Bus conformance suite on MemoryBus and on NatsBus (a throwaway nats-server). */
import { MemoryBusNet } from "../lib/server/bus/bus.ts";
import { busConformance } from "../lib/server/bus/bus_conformance.ts";
import { NatsBus } from "../lib/server/bus/nats_bus.ts";
import { clusterSkip, startNats, type TestNats } from "./cluster_harness.ts";

busConformance("MemoryBus", (n) => {
  const net = new MemoryBusNet();
  return Promise.resolve(Array.from({ length: n }, (_, i) => net.join(`m${i}`)));
});

let nats: Promise<TestNats> | null = null;
let k = 0;
busConformance("NatsBus", async (n) => {
  const s = await (nats ??= startNats());
  const subject = `parley.test${++k}`;
  return await Promise.all(Array.from({ length: n }, (_, i) => NatsBus.open(s.url, `n${k}.${i}`, subject)));
}, { ignore: clusterSkip !== null });

Deno.test({
  name: "NatsBus: stop the throwaway nats-server",
  ignore: clusterSkip !== null,
  async fn() {
    if (nats) await (await nats).stop();
  },
});
