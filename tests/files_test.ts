/**
 * Relayed file transfers (issue 12) against an in-process server: sizes around the chunk edges,
 * offline offers delivered on login, tampered / reordered / truncated / duplicated / spliced
 * ciphertext refused by the receiver (the test plays a hostile relay by editing the server's
 * stored file), quota refusal, TTL expiry, and resuming after the sender's and the receiver's
 * connections die mid-transfer.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { ManualClock } from "../lib/common/clock.ts";
import { CHUNK_SIZE, ENC_CHUNK_SIZE, FILE_HEADER_LEN } from "../lib/crypto/age_stream.ts";
import { FileTransfers, type TransferProgress } from "../lib/client/files/transfers.ts";
import { plainBefore } from "../lib/client/files/layout.ts";
import { eventually, startTestServer, type TestServer } from "./helpers.ts";

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

async function pair(t: TestServer, o: { bobOnline?: boolean } = {}) {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await a.client.sync();
  await b.client.sync();
  if (o.bobOnline === false) await b.client.close();
  return { a, b };
}

async function writeFile(t: TestServer, name: string, data: Uint8Array): Promise<string> {
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  const p = `${t.dir}/src/${name}`;
  await Deno.writeFile(p, data);
  return p;
}

async function offerFor(ft: FileTransfers, fid: string) {
  return (await eventually(async () => (await ft.incoming()).find((r) => r.fid === fid), 5000, "the offer"))!;
}

Deno.test("files: empty, 1 byte, one chunk, one chunk + 1, a few MiB arrive intact (0600 in a 0700 folder); the offer is no chat line", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const msgs: unknown[] = [];
    const offers: unknown[] = [];
    b.client.on((e) => {
      if (e.type === "message") msgs.push(e);
      if (e.type === "file.offer") offers.push(e.offer);
    });
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    for (const [i, n] of [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * 1024 * 1024 + 77].entries()) {
      const data = bytes(n, i + 7);
      const p = await writeFile(t, `f${n}.bin`, data);
      const sent = await fa.send("bob", p);
      assert.equal(sent.size, n);
      assert.equal(sent.sha256, await sha256Hex(data));
      const rec = await offerFor(fb, sent.fid);
      assert.equal(rec.name, `f${n}.bin`);
      const got = await fb.accept(rec, `${t.dir}/down`);
      assert.equal(got.path, `${t.dir}/down/f${n}.bin`);
      assert.deepEqual(await Deno.readFile(got.path), data);
      if (Deno.build.os !== "windows") { // issue 34 point 18: for the user only, like the client folder
        assert.equal((await Deno.stat(got.path)).mode! & 0o777, 0o600, "the saved file is 0600");
        assert.equal((await Deno.stat(`${t.dir}/down`)).mode! & 0o777, 0o700, "its new folder is 0700");
      }
      // The server dropped its copy once the recipient had it.
      assert.equal(t.srv.files.get(sent.fid)?.state, "done");
    }
    assert.equal(offers.length, 5);
    assert.equal(msgs.length, 0, "a file offer is never a chat message");
    assert.equal(b.store.recent("bob", 100).length, 0);
    // The server's disk never held the plaintext or the name in the clear is not required, but the key never.
  } finally {
    await t.stop();
  }
});

Deno.test("files: an offer to an offline user is delivered on login; a second copy gets ' (1)'", async () => {
  const t = await startTestServer();
  try {
    const { a } = await pair(t, { bobOnline: false });
    const fa = FileTransfers.of(a.client);
    const data = bytes(50_000);
    const p = await writeFile(t, "report.pdf", data);
    const s1 = await fa.send("bob", p);
    const s2 = await fa.send("bob", p); // the first upload finished: a new transfer
    assert.notEqual(s1.fid, s2.fid);
    const b = await t.e2eClient("bob", { register: false });
    await b.client.sync();
    const fb = FileTransfers.of(b.client);
    const r1 = await offerFor(fb, s1.fid), r2 = await offerFor(fb, s2.fid);
    const g1 = await fb.accept(r1, `${t.dir}/down`), g2 = await fb.accept(r2, `${t.dir}/down`);
    assert.equal(g1.path, `${t.dir}/down/report.pdf`);
    assert.equal(g2.path, `${t.dir}/down/report (1).pdf`);
    assert.deepEqual(await Deno.readFile(g2.path), data);
  } finally {
    await t.stop();
  }
});

type Edit = (bin: Uint8Array) => Uint8Array;
const chunkAt = (b: Uint8Array, i: number) =>
  b.slice(FILE_HEADER_LEN + i * ENC_CHUNK_SIZE, FILE_HEADER_LEN + (i + 1) * ENC_CHUNK_SIZE);

const EDITS: [string, Edit][] = [
  ["a flipped bit", (b) => (b[FILE_HEADER_LEN + ENC_CHUNK_SIZE + 5]! ^= 1, b)],
  ["reordered chunks", (b) => {
    const c0 = chunkAt(b, 0), c1 = chunkAt(b, 1);
    b.set(c1, FILE_HEADER_LEN);
    b.set(c0, FILE_HEADER_LEN + ENC_CHUNK_SIZE);
    return b;
  }],
  ["a duplicated chunk", (b) => (b.set(chunkAt(b, 0), FILE_HEADER_LEN + ENC_CHUNK_SIZE), b)],
  ["a changed header", (b) => (b[3]! ^= 0x80, b)],
];

Deno.test("files: a relay that changes, reorders, duplicates, truncates or splices chunks is refused", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    const data = bytes(3 * CHUNK_SIZE + 100);
    const p = await writeFile(t, "x.bin", data);
    const other = await fa.send("bob", await writeFile(t, "other.bin", bytes(3 * CHUNK_SIZE + 100, 9)));
    const otherBin = await Deno.readFile(`${t.dir}/files/${other.fid}.bin`);
    const cases: [string, Edit][] = [
      ...EDITS,
      [
        "a chunk spliced from another file",
        (bin) => (bin.set(chunkAt(otherBin, 1), FILE_HEADER_LEN + ENC_CHUNK_SIZE), bin),
      ],
    ];
    for (const [what, edit] of cases) {
      const s = await fa.send("bob", p);
      const bin = `${t.dir}/files/${s.fid}.bin`;
      await Deno.writeFile(bin, edit(await Deno.readFile(bin)));
      const rec = await offerFor(fb, s.fid);
      await assert.rejects(fb.accept(rec, `${t.dir}/down`), (e: Error & { code?: string }) => {
        assert.equal(e.code, "file_tampered", `${what}: ${e.message}`);
        return true;
      });
      assert.deepEqual([...Deno.readDirSync(`${t.dir}/down`)].map((e) => e.name), [], what);
      assert.equal((await fb.incoming()).find((r) => r.fid === s.fid)?.state, "failed");
    }
    // Truncated: the relay claims a shorter file (the last chunk dropped) — the size is refused.
    const s = await fa.send("bob", p);
    const f = t.srv.files.get(s.fid)!;
    f.size -= 116;
    f.have -= 116;
    await Deno.truncate(`${t.dir}/files/${s.fid}.bin`, f.have);
    const rec = await offerFor(fb, s.fid);
    await assert.rejects(fb.accept(rec, `${t.dir}/down`), /not the size its sender offered/);
    assert.deepEqual([...Deno.readDirSync(`${t.dir}/down`)].map((e) => e.name), []);
  } finally {
    await t.stop();
  }
});

Deno.test("files: quota refusal and TTL expiry", async () => {
  const clock = new ManualClock(Date.now()); // the TTL passes on the server's clock, not in a sleep
  const t = await startTestServer({ fileQuota: 100_000, fileTtlSeconds: 1 }, { clock });
  try {
    const { a, b } = await pair(t);
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    // By the relay only (auto would send it straight: files_direct_test.ts).
    await assert.rejects(
      fa.send("bob", await writeFile(t, "big.bin", bytes(120_000)), "relay"),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "file_too_large");
        return true;
      },
    );
    assert.equal((await fa.outgoing())[0]?.state, "failed", "larger than the quota itself: never retried");
    const s = await fa.send("bob", await writeFile(t, "small.bin", bytes(60_000)));
    // Over quota together with the first (still waiting) file.
    await assert.rejects(
      fa.send("bob", await writeFile(t, "more.bin", bytes(60_000)), "relay"),
      (e: Error & { code?: string }) =>
        e.code === "over_quota" && /holds at most 97\.7 KiB for you/.test(e.message),
    );
    const rec = await offerFor(fb, s.fid);
    clock.advance(1100);
    await assert.rejects(
      fb.accept(rec, `${t.dir}/down`),
      (e: Error & { code?: string }) => e.code === "no_such_file",
    );
    assert.equal((await fb.incoming()).find((r) => r.fid === s.fid)?.state, "failed", "not retried forever");
    assert.equal(await t.srv.files.sweep(), 1);
    assert.deepEqual([...Deno.readDirSync(`${t.dir}/files`)].map((e) => e.name), []);
  } finally {
    await t.stop();
  }
});

Deno.test("files: resume after the sender's and then the receiver's connection dies mid-transfer", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await pair(t);
    const data = bytes(4 * 1024 * 1024 + 3);
    const p = await writeFile(t, "movie.mkv", data);
    // The sender dies after its second body.
    let bodies = 0;
    const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, (pr: TransferProgress) => {
      if (pr.state === "active" && ++bodies === 3) void a.client.conn.close();
    });
    const [session] = t.srv.hub.sessionsOf("alice");
    await assert.rejects(fa.send("bob", p));
    const [fid] = [...(await FileTransfers.of(b.client).incoming())].map((r) => r.fid);
    // Bodies already in flight when the connection closed are still taken, some after her session
    // left (seen under load): the event is the end of her connection's requests.
    await t.srv.requestsDone(session!);
    const stored = t.srv.files.get(fid!)!.have;
    assert.ok(stored > 0 && stored < data.length, `stored ${stored}`);
    const a2 = await t.e2eClient("alice", { register: false });
    let resumedFrom = -1;
    const fa2 = FileTransfers.of(a2.client, (pr) => {
      if (resumedFrom < 0) resumedFrom = pr.done;
    });
    const sent = await fa2.send("bob", p);
    assert.equal(sent.fid, fid, "the same transfer continued");
    // Progress counts plaintext bytes: the whole chunks before the server's (ciphertext) offset.
    assert.equal(resumedFrom, plainBefore(data.length, stored), "from the server's offset");
    // The receiver dies after a few chunks, a new session resumes from the .part.
    let got = 0;
    const fb = new FileTransfers(b.client, FileTransfers.of(b.client).ops, (pr) => {
      if (pr.state === "active" && pr.done > 0 && ++got === 2) void b.client.conn.close();
    });
    const rec = await offerFor(fb, fid!);
    await assert.rejects(fb.accept(rec, `${t.dir}/down`));
    const part = (await Deno.stat(`${t.dir}/down/movie.mkv.part`)).size;
    assert.ok(part > 0 && part < data.length, `part ${part}`);
    const b2 = await t.e2eClient("bob", { register: false });
    let from = -1;
    const fb2 = FileTransfers.of(b2.client, (pr) => {
      if (from < 0) from = pr.done;
    });
    const done = await fb2.accept(rec, `${t.dir}/down`);
    assert.equal(from, Math.floor(part / CHUNK_SIZE) * CHUNK_SIZE);
    assert.equal(done.path, `${t.dir}/down/movie.mkv`);
    assert.equal(await sha256Hex(await Deno.readFile(done.path)), sent.sha256);
  } finally {
    await t.stop();
  }
});

Deno.test("files: the server lets only the sender write, only the recipient read, and never past the declared size", async () => {
  const t = await startTestServer();
  try {
    const [a, b, c] = [await t.client("alice"), await t.client("bob"), await t.client("carol")];
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: Error & { code?: string }) => e.code);
    const fid = "fid-0000001";
    const put = (who: typeof a, off: number, body: Uint8Array, to = "bob", size = 100) =>
      who.conn.request("file.put", { fid, to, size, off }, body);
    assert.equal(await code(put(a, 0, new Uint8Array(60))), "ok");
    assert.equal(
      await code(put(c, 60, new Uint8Array(10))),
      "no_such_file",
      "carol cannot write alice's file",
    );
    assert.equal(await code(put(a, 60, new Uint8Array(41))), "file_too_large");
    assert.equal(await code(put(a, 60, new Uint8Array(10), "bob", 200)), "no_such_file", "size is fixed");
    // A put at a stale offset writes nothing and tells where the file is.
    assert.equal((await put(a, 10, new Uint8Array(5))).header.have, 60);
    assert.equal(
      await code(c.conn.request("file.done", { fid })),
      "no_such_file",
      "only its recipient's done",
    );
    assert.equal(await code(c.conn.request("file.get", { fid, off: 0, len: 10 })), "no_such_file");
    assert.equal(await code(a.conn.request("file.get", { fid, off: 0, len: 10 })), "no_such_file");
    const r = await b.conn.request("file.get", { fid, off: 50, len: 100 });
    assert.equal(r.body.length, 10);
    assert.deepEqual([r.header.have, r.header.size, r.header.state], [60, 100, "uploading"]);
    assert.equal(((await c.conn.request("file.list")).header.files as unknown[]).length, 0);
    assert.equal(((await b.conn.request("file.list")).header.files as unknown[]).length, 1);
    assert.equal(await code(c.conn.request("file.abort", { fid })), "no_such_file");
    assert.equal(await code(b.conn.request("file.abort", { fid })), "ok");
    assert.equal(t.srv.files.get(fid), undefined);
    // Its recipient's done while it is still uploading: it came by the direct path; the server drops it.
    assert.equal(await code(put(a, 0, new Uint8Array(60))), "ok");
    assert.equal(await code(b.conn.request("file.done", { fid })), "ok");
    assert.equal(t.srv.files.get(fid)?.state, "done");
    assert.equal((await put(a, 60, new Uint8Array(10))).header.state, "done", "its sender is told");
    assert.equal(
      await code(a.conn.request("file.put", { fid: "../../etc", to: "bob", size: 1, off: 0 })),
      "invalid",
    );
    assert.equal(
      await code(a.conn.request("file.put", { fid, to: "bob", size: 1, off: 0 }, new Uint8Array(600 * 1024))),
      "invalid",
      "a body over FILE_BODY_MAX",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("files: a server restart mid-upload keeps what reached its disk; the upload and the download continue", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-files-restart-" });
  let t = await startTestServer({}, { dir });
  try {
    const { a } = await pair(t, { bobOnline: false });
    const data = bytes(3 * 1024 * 1024 + 11);
    const p = await writeFile(t, "db.dump", data);
    let n = 0;
    const fa = new FileTransfers(a.client, FileTransfers.of(a.client).ops, (pr) => {
      if (pr.state === "active" && ++n === 3) void t.srv.shutdown();
    });
    await assert.rejects(fa.send("bob", p));
    await t.stop();
    await Deno.writeFile(`${dir}/files/orphan0001.bin`, new Uint8Array(10)); // killed between data and metadata
    t = await startTestServer({ port: t.port }, { dir });
    await assert.rejects(Deno.stat(`${dir}/files/orphan0001.bin`));
    const [entry] = t.srv.files.list("alice");
    assert.ok(
      entry && entry.have > 0 && entry.have < entry.size,
      "a part of the upload survived the restart",
    );
    const a2 = await t.e2eClient("alice", { register: false });
    const sent = await FileTransfers.of(a2.client).send("bob", p);
    assert.equal(sent.fid, entry.fid);
    const b = await t.e2eClient("bob", { register: false });
    await b.client.sync();
    const fb = FileTransfers.of(b.client);
    const got = await fb.accept(await offerFor(fb, sent.fid), `${t.dir}/down`);
    assert.deepEqual(await Deno.readFile(got.path), data);
  } finally {
    await t.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files: send-file #room is one upload and one room-key offer; every member takes it, no one else can", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const c = await t.e2eClient("carol");
    const d = await t.e2eClient("dave"); // not in the room: gets nothing, reads nothing
    for (const x of [a, b, c, d]) await x.client.sync();
    await a.client.commands.createRoom("team", ["bob", "carol"]);
    await a.client.send({ kind: "room", name: "team" }, "hello"); // the room key is handed out here
    const data = bytes(CHUNK_SIZE * 3 + 5, 9);
    const p = await writeFile(t, "plan.pdf", data);
    // Every request alice makes while sending: one room message, no DM (no offer per member).
    const sends: string[] = [];
    const conn = a.client.conn as unknown as { request: (k: string, h?: unknown, b?: unknown) => unknown };
    const request = conn.request.bind(conn);
    conn.request = (k, h, body) => {
      if (k === "send") sends.push((h as { to: { kind: string } }).to.kind);
      return request(k, h, body);
    };
    const sent = await FileTransfers.of(a.client).sendRoom("#team", p);
    conn.request = request;
    assert.deepEqual(sent.to.sort(), ["bob", "carol"]);
    assert.equal(sent.sha256, await sha256Hex(data));
    assert.deepEqual(sends, ["room"], "one sealed room message carries the offer");
    const out = await FileTransfers.of(a.client).outgoing();
    assert.deepEqual(out.map((r) => [r.to, r.state]), [["#team", "sent"]]);
    const stored = t.srv.files.list("alice");
    assert.equal(stored.length, 1, "the server holds one upload");
    assert.equal(stored[0]!.fid, sent.fid);
    // The server sees ciphertext only: an age file, no run of the plaintext in it.
    const bin = await Deno.readFile(`${t.dir}/files/${sent.fid}.bin`);
    assert.ok(new TextDecoder().decode(bin.subarray(0, 21)) === "age-encryption.org/v1");
    assert.ok(
      !new TextDecoder("latin1").decode(bin).includes(
        new TextDecoder("latin1").decode(data.subarray(100, 164)),
      ),
    );
    // dave, no member, can neither read it nor see it, nor make a room's file for a room he is not in.
    const code = (pr: Promise<unknown>) => pr.then(() => "ok", (e: Error & { code?: string }) => e.code);
    assert.equal(
      await code(d.client.conn.request("file.get", { fid: sent.fid, off: 0, len: 100 })),
      "no_such_file",
    );
    assert.equal(await code(d.client.conn.request("file.done", { fid: sent.fid })), "no_such_file");
    assert.equal(await code(d.client.conn.request("file.abort", { fid: sent.fid })), "no_such_file");
    assert.equal(((await d.client.conn.request("file.list")).header.files as unknown[]).length, 0);
    assert.equal(
      await code(
        d.client.conn.request("file.put", { fid: "dave-file-1", to: "team", room: true, size: 10, off: 0 }),
      ),
      "not_member",
    );
    await d.client.sync();
    assert.equal((await FileTransfers.of(d.client).incoming()).length, 0, "no offer reached dave");
    const sums: string[] = [];
    for (const x of [b, c]) {
      const ft = FileTransfers.of(x.client);
      const rec = await offerFor(ft, sent.fid);
      assert.equal(rec.room, "team");
      assert.equal(rec.from, "alice");
      const got = await ft.accept(rec, `${t.dir}/down-${x.client.user}`);
      assert.equal(got.via, "relay");
      assert.deepEqual(await Deno.readFile(got.path), data);
      sums.push(got.rec.sha256);
      // The first member's taking leaves it for the other one.
      if (x === b) assert.equal(t.srv.files.get(sent.fid)?.state, "ready");
    }
    assert.deepEqual(sums, [sent.sha256, sent.sha256]);
    assert.equal(t.srv.files.get(sent.fid)?.state, "done", "gone once every other member took it");
    await assert.rejects(FileTransfers.of(a.client).sendRoom("#nowhere", p), /not in a room/);
  } finally {
    await t.stop();
  }
});

Deno.test("files: a member declining a room's file declines it for that member only; the sender withdraws it for all", async () => {
  const t = await startTestServer();
  try {
    const [a, b, c] = [await t.client("alice"), await t.client("bob"), await t.client("carol")];
    await a.commands.createRoom("team", ["bob", "carol"]);
    const code = (pr: Promise<unknown>) => pr.then(() => "ok", (e: Error & { code?: string }) => e.code);
    const fid = "room-file-1";
    assert.equal(
      await code(
        a.conn.request("file.put", { fid, to: "team", room: true, size: 10, off: 0 }, new Uint8Array(10)),
      ),
      "ok",
    );
    assert.equal(
      await code(a.conn.request("file.put", { fid, to: "team", size: 10, off: 10 }, new Uint8Array(0))),
      "no_such_file",
      "a room's file is not a user's",
    );
    assert.equal((await c.conn.request("file.get", { fid, off: 0, len: 10 })).body.length, 10);
    assert.equal(await code(b.conn.request("file.abort", { fid })), "ok");
    assert.equal(t.srv.files.get(fid)?.state, "ready", "bob declined; carol may still take it");
    assert.equal((await c.conn.request("file.get", { fid, off: 0, len: 10 })).body.length, 10);
    assert.equal(await code(a.conn.request("file.abort", { fid })), "ok");
    assert.equal(t.srv.files.get(fid), undefined, "the sender withdrew it");
  } finally {
    await t.stop();
  }
});
