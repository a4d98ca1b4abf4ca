/** FileShare's announcements (file_share.ts): a node never answers another before its own marker is written. */
import assert from "node:assert/strict";
import { Logger } from "../common/logger.ts";
import { systemClock } from "../common/clock.ts";
import type { Bus, BusEvent } from "./bus/bus.ts";
import { hasMarker } from "./file_meta.ts";
import type { FileStore } from "./file_store.ts";
import { FileShare } from "./file_share.ts";

Deno.test("FileShare: a node starting while others run answers their announcement only once its marker is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const said: { e: BusEvent; marked: boolean }[] = [];
    const pending: Promise<void>[] = [];
    const bus = {
      node: "n-new",
      publish: (e: BusEvent) =>
        pending.push(hasMarker(dir, "n-new").then((marked) => void said.push({ e, marked }))),
      subscribe: () => {},
      close: () => Promise.resolve(),
    } as Bus;
    const store = { dir, watch: { onChange: null }, elsewhere: null } as unknown as FileStore;
    const share = new FileShare(store, bus, new Logger([], systemClock));
    // An older node's announcement arrives before this node's start wrote its marker.
    const heard = share.on("n-old", { t: "file", op: "node" });
    await heard; // it was heard: an answer sent now would be published by then
    assert.equal(pending.length, 0, "no answer before the marker is written");
    await share.start();
    await Promise.resolve(); // the answer waits on the marker's promise
    await Promise.all(pending);
    assert.ok(said.length >= 1 && said.every((s) => s.marked), JSON.stringify(said));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
