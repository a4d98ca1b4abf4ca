/**
 * Progress of a peer-mode transfer (issue 36, progress everywhere a transfer runs): both ends say
 * "transfer" events under the file's name, in plaintext bytes of the plaintext total, moving while
 * the file goes (never past the total), and ending with "done" at the total.
 */
import assert from "node:assert/strict";
import { PeerNode } from "./node.ts";
import type { BackendEvent } from "../backend.ts";
import { PeerStore } from "./store.ts";
import { nextEvent } from "./events_testing.ts";

type Transfer = Extract<BackendEvent, { type: "transfer" }>;

Deno.test("peer files: both ends' progress moves in plaintext bytes under the file's name and ends with done", async () => {
  const dir = await Deno.makeTempDir();
  const node = async (name: string, downloads?: string) =>
    await PeerNode.start({
      name,
      store: await PeerStore.open(null, name),
      hostname: "127.0.0.1",
      port: 0,
      ...(downloads ? { downloads } : {}),
    });
  const a = await node("alice"), b = await node("bob", `${dir}/down`);
  const seen: Record<"up" | "down", Transfer[]> = { up: [], down: [] };
  for (const n of [a, b]) n.on((e) => void (e.type === "transfer" && seen[e.direction].push(e)));
  try {
    const up = nextEvent(a, (e) => e.type === "presence" && e.online);
    await b.connect(`127.0.0.1:${a.port}`);
    await up;
    const size = 6 * 1024 * 1024 + 5;
    await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(size).fill(3));
    const offered = nextEvent(b, (e) => e.type === "file.offer");
    await a.sendFile("bob", `${dir}/big.bin`);
    await offered;
    const sent = nextEvent(a, (e) => e.type === "file.sent", 60_000);
    await (await b.files.accept()).saved;
    await sent;
    for (const dir of ["up", "down"] as const) {
      const l = seen[dir];
      const shown = JSON.stringify(l.map((e) => [e.state, e.done]));
      assert.ok(l.every((e) => e.name === "big.bin" && e.total === size), `${dir}: name and plaintext total`);
      assert.ok(l.every((e) => e.done >= 0 && e.done <= size), `${dir}: never past the total: ${shown}`);
      const active = l.filter((e) => e.state === "active").map((e) => e.done);
      assert.ok(new Set(active).size >= 2, `${dir}: moves while it goes: ${shown}`);
      assert.deepEqual(active, [...active].sort((x, y) => x - y), `${dir}: only forward`);
      assert.deepEqual([l.at(-1)!.state, l.at(-1)!.done], ["done", size], `${dir}: ends done at the total`);
    }
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
