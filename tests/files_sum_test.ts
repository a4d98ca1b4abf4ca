/**
 * The SHA-256 that follows a file offer (issue 12: the sender hashes while the file goes): the
 * recipient keeps the `.part` under its temporary name until the sum came and matches, and refuses
 * a file whose sum does not match (nothing under the final name, the `.part` removed).
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { type FileOps, FileTransfers } from "../lib/client/files/transfers.ts";
import { exists } from "../lib/client/files/disk.ts";
import { BackendError } from "../lib/client/backend.ts";
import { eventually, startTestServer } from "./helpers.ts";

async function setUp() {
  const t = await startTestServer();
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await a.client.sync();
  await b.client.sync();
  const data = new Uint8Array(300_000).map((_, i) => (i * 7919) >> 3);
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  await Deno.writeFile(`${t.dir}/src/f.bin`, data);
  return { t, a, b, data, src: `${t.dir}/src/f.bin`, down: `${t.dir}/down/f.bin` };
}

Deno.test("file sum: the .part keeps its name until the late SHA-256 comes, then the file is saved", async () => {
  const { t, a, b, data, src, down } = await setUp();
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ops: FileOps = FileTransfers.of(a.client).ops;
    const late = {
      ...ops,
      sum: async (to: string, fid: string, h: string) => (await gate, ops.sum(to, fid, h)),
    };
    const sending = new FileTransfers(a.client, late).send("bob", src, "relay");
    sending.catch(() => {});
    // Bob's receiving side looks for a filed change only while it waits for the sum (transfers.ts
    // `#sumOf`): that look is the event that it has every byte and stands before the rename.
    const opsB = FileTransfers.of(b.client).ops;
    let waiting!: () => void;
    const waitsForSum = new Promise<void>((r) => (waiting = r));
    const looking = { ...opsB, filed: (ms: number, stop?: AbortSignal) => (waiting(), opsB.filed(ms, stop)) };
    const fb = new FileTransfers(b.client, looking, undefined, undefined, false);
    const rec = (await eventually(async () => (await fb.incoming())[0], 5000, "the offer"))!;
    assert.equal(rec.sha256, "", "offered before it was hashed");
    const accepting = fb.accept(rec, `${t.dir}/down`);
    accepting.catch(() => {});
    const first = await Promise.race([
      waitsForSum.then(() => "waits"),
      accepting.then(() => "saved", () => "failed"),
    ]);
    assert.equal(first, "waits", "the receiver waits for the sum before it saves anything");
    assert.equal((await Deno.stat(`${down}.part`)).size, data.length, "every byte is in the .part");
    assert.equal(await exists(down), false, "nothing under the final name without the sum");
    release();
    const got = await accepting;
    assert.equal(got.path, down);
    assert.equal(got.rec.sha256, await sha256Hex(data));
    assert.deepEqual(await Deno.readFile(down), data);
    assert.equal((await sending).sha256, got.rec.sha256);
  } finally {
    await t.stop();
  }
});

Deno.test("file sum: a late SHA-256 that does not match refuses the file", async () => {
  const { t, a, b, src, down } = await setUp();
  try {
    const ops: FileOps = FileTransfers.of(a.client).ops;
    const wrong = { ...ops, sum: (to: string, fid: string) => ops.sum(to, fid, "ab".repeat(32)) };
    await new FileTransfers(a.client, wrong).send("bob", src, "relay");
    const fb = FileTransfers.of(b.client, undefined, false);
    const rec = (await eventually(async () => (await fb.incoming())[0], 5000, "the offer"))!;
    await assert.rejects(
      fb.accept(rec, `${t.dir}/down`),
      (e) => e instanceof BackendError && e.code === "file_corrupt",
    );
    assert.equal(await exists(down), false);
    assert.equal(await exists(`${down}.part`), false);
  } finally {
    await t.stop();
  }
});
