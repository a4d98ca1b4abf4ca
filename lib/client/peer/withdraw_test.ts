/**
 * Peer mode's `/withdraw N` (session 37): a file offered to a connected peer and not saved by it yet
 * is taken back; the peer is told at once (its offer ends: "stopped sending it"), the send that waited
 * for it ends, and the file is no longer listed as one to withdraw.
 */
import assert from "node:assert/strict";
import type { BackendEvent } from "../backend.ts";
import { nextEvent, testNode } from "./events_testing.ts";

Deno.test("peer: /withdraw N takes back a file a connected peer has not saved; the peer is told at once", async () => {
  const dir = await Deno.makeTempDir();
  const a = await testNode("alice"), b = await testNode("bob");
  try {
    const up = nextEvent(b, (e) => e.type === "presence" && e.online);
    assert.equal(await a.connect(`127.0.0.1:${b.port}`), "bob");
    await up;
    const files = a.backend().files!;
    await Deno.writeTextFile(`${dir}/plan.txt`, "x".repeat(4096));
    const offered = nextEvent(b, (e: BackendEvent) => e.type === "file.offer");
    const sending = files.send("bob", `${dir}/plan.txt`);
    sending.catch(() => {}); // awaited below
    await offered;
    const listed = (await files.list()).filter((e) => e.direction === "out");
    assert.deepEqual(listed.map((e) => [e.w, e.name, e.state]), [[1, "plan.txt", "offered"]]);
    const told = nextEvent(b, (e: BackendEvent) => e.type === "file.failed");
    assert.equal((await files.withdraw!(1)).state, "withdrawn");
    const f = await told as Extract<BackendEvent, { type: "file.failed" }>;
    assert.match(
      f.why,
      /^plan\.txt from alice did not come: alice stopped sending it: withdrawn by its sender/,
    );
    await assert.rejects(sending, /plan\.txt to bob: withdrawn/);
    assert.deepEqual(b.files.list().map((e) => e.state), ["failed"]);
    assert.deepEqual((await files.list()).filter((e) => e.direction === "out"), []);
    await assert.rejects(files.withdraw!(1), /There is no file 1 being sent/);
    // One no command waits for (offered before a restart, say): /withdraw's own line says it, no notice.
    const backend = a.backend();
    const notices: string[] = [];
    backend.on((e) => void (e.type === "notice" && notices.push(e.text)));
    const again = nextEvent(b, (e: BackendEvent) => e.type === "file.offer");
    await a.sendFile("bob", `${dir}/plan.txt`);
    await again;
    assert.equal((await backend.files!.withdraw!(1)).name, "plan.txt");
    assert.deepEqual(notices, []);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
