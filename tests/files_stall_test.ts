/**
 * A transfer that makes no progress fails within its stall bound (issue 36) instead of waiting for
 * ever: a relay that has part of the file and sends nothing more, and a relay that stops answering
 * while keeping the connection open. The error names what it waited for; the `.part` stays for a
 * later resume. A test-level timeout shows the hang the old code had.
 */
import assert from "node:assert/strict";
import { CHUNK_SIZE } from "../lib/crypto/age_stream.ts";
import { FileTransfers, type TransferProgress } from "../lib/client/files/transfers.ts";
import { eventually, startTestServer } from "./helpers.ts";

const STALL = 600;
/** The hang the old code had shows as this (far above STALL, far below the test runner's patience). */
const HANG = 20_000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (hangs)`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

Deno.test("files: a download from a relay that sends part of the file, then nothing, fails with transfer_stalled and keeps its .part", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await a.client.sync();
    await b.client.sync();
    await Deno.mkdir(`${t.dir}/src`, { recursive: true });
    const path = `${t.dir}/src/big.bin`;
    await Deno.writeFile(path, new Uint8Array(4 * 1024 * 1024 + 5).fill(7));
    // The sender's upload stops after its second body: the server has part of the file, for ever.
    let bodies = 0;
    const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, (pr: TransferProgress) => {
      if (pr.state === "active" && ++bodies === 3) void a.client.conn.close();
    });
    await assert.rejects(fa.send("bob", path));
    const ops = FileTransfers.of(b.client).ops;
    const fb = new FileTransfers(b.client, ops, undefined, 20, false, STALL);
    const rec = (await eventually(async () => (await fb.incoming())[0], 5000, "the offer"))!;
    const started = Date.now();
    await assert.rejects(within(fb.accept(rec, `${t.dir}/down`), HANG), (e: Error & { code?: string }) => {
      assert.equal(e.code, "transfer_stalled", e.message);
      assert.match(e.message, /waiting for the server to send more of big\.bin \(from alice\)/);
      return true;
    });
    assert.ok(Date.now() - started < HANG / 2, `failed after ${Date.now() - started} ms`);
    const part = (await Deno.stat(`${t.dir}/down/big.bin.part`)).size;
    assert.ok(part >= CHUNK_SIZE, `the .part is kept (${part} bytes)`);
    assert.equal((await fb.incoming())[0]?.state, "accepted", "still resumable");

    // A relay that stops answering while the connection stays open: the same bound.
    const conn = b.client.conn;
    const request = conn.request.bind(conn);
    conn.request = ((type: string, ...rest: unknown[]) =>
      type === "file.get"
        ? new Promise(() => {})
        : (request as (...x: unknown[]) => unknown)(type, ...rest)) as typeof conn.request;
    await assert.rejects(within(fb.accept(rec, `${t.dir}/down`), HANG), (e: Error & { code?: string }) => {
      assert.equal(e.code, "transfer_stalled", e.message);
      return true;
    });
    assert.equal((await Deno.stat(`${t.dir}/down/big.bin.part`)).size, part, "the .part untouched");
  } finally {
    await t.stop();
  }
});
