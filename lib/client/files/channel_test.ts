/** File controls wake the transfers waiting for them in this process (no polling loop for them). */
import assert from "node:assert/strict";
import { MemoryCryptoStore } from "../../crypto/state_store.ts";
import { ControlRegistry, type SealedChannel } from "../e2e/controls.ts";
import { fileOps, registerFileControls } from "./channel.ts";
import { encodeFileReady, encodeFileSum } from "./offer.ts";

function channel() {
  const controls = new ControlRegistry();
  const register: SealedChannel["register"] = (kind, h) => controls.register(kind, h);
  const ch = { register, notify() {} } as unknown as SealedChannel;
  registerFileControls(ch);
  return { ch, controls, ops: fileOps(ch) };
}

const ctx = () => ({
  from: "bob",
  mid: "m1",
  at: 0,
  cs: new MemoryCryptoStore(),
  verified: () => Promise.resolve(false),
});

Deno.test("files channel: a SHA-256 or a direct-path candidate filed here wakes a waiter at once", async () => {
  const { controls, ops } = channel();
  const payloads = [
    encodeFileSum("m1", "fid-0000001", "a".repeat(64)),
    encodeFileReady("m1", { fid: "fid-0000001", host: "127.0.0.1", port: 4000, token: "A".repeat(43) + "=" }),
  ];
  for (const p of payloads) {
    const t0 = performance.now();
    const waiting = ops.filed(30_000);
    (await controls.lookup(p, "m1")!(ctx())).after?.();
    await waiting;
    assert.ok(performance.now() - t0 < 5_000, "woken, not timed out");
  }
});

Deno.test("files channel: with nothing filed, a waiter goes on after its time (another process may have filed it)", async () => {
  const { ops } = channel();
  const t0 = performance.now();
  await ops.filed(30);
  assert.ok(performance.now() - t0 >= 25);
});
