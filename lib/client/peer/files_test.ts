import assert from "node:assert/strict";
import { concatBytes, sha256Hex, toBase64 } from "../../common/bytes.ts";
import { CHUNK_SIZE, ENC_CHUNK_SIZE } from "../../crypto/age_stream.ts";

import { type PeerFileEvent, PeerFiles, type Via } from "../files/carried.ts";
import { keep } from "../files/carried_common.ts";
import type { CarriedOutState } from "../files/book.ts";
import { PeerNode } from "./node.ts";
import type { BackendEvent } from "../backend.ts";
import { PeerStore } from "./store.ts";
import { decodePeerRecord, encodePeerRecord } from "./wire.ts";
import { encodeFileData, joinFileData } from "../files/carried_wire.ts";
import { type FileRecord, PEER_BATCH } from "../files/carried_common.ts";

/** `r` through the wire codec as a channel carries it (`fdata`: its record, then its bulk frame). */
function wireTrip(r: FileRecord): FileRecord {
  if (r.t !== "fdata") return decodePeerRecord(encodePeerRecord(r)) as FileRecord;
  const { head, body } = encodeFileData(r);
  const h = decodePeerRecord(head);
  assert.ok(h.t === "fdata");
  return joinFileData(h, concatBytes(body));
}

import { nextEvent } from "./events_testing.ts";
import { until } from "../../common/wait_testing.ts";

/** A node's next matching event; file transfers get 30 s. */
const waitFor = (n: PeerNode, pred: (e: BackendEvent) => boolean, ms = 30_000) => nextEvent(n, pred, ms);

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

const ls = (dir: string) => {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
};

Deno.test("peer files: two nodes exchange empty, 1 byte, one chunk, one chunk + 1 and a few MiB", async () => {
  const dir = await Deno.makeTempDir();
  const a = await PeerNode.start({
    name: "alice",
    store: await PeerStore.open(null, "alice"),
    hostname: "127.0.0.1",
    port: 0,
  });
  const b = await PeerNode.start({
    name: "bob",
    store: await PeerStore.open(null, "bob"),
    hostname: "127.0.0.1",
    port: 0,
    downloads: `${dir}/down`,
  });
  try {
    const up = waitFor(a, (e) => e.type === "presence" && e.online);
    await b.connect(`127.0.0.1:${a.port}`);
    await up;
    const sizes = [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * 1024 * 1024 + 77];
    for (const [k, size] of sizes.entries()) {
      const data = bytes(size, k + 1);
      const path = `${dir}/file ${k}.bin`;
      await Deno.writeFile(path, data);
      const offered = waitFor(b, (e) => e.type === "file.offer");
      const s = await a.sendFile("bob", path);
      assert.equal(await s.sum, await sha256Hex(data));
      const o = await offered;
      assert.ok(
        o.type === "file.offer" && o.offer.n === 1 && o.offer.size === size && o.offer.from === "alice",
      );
      assert.deepEqual(b.files.waiting().map((w) => w.name), [`file ${k}.bin`]);
      const sent = waitFor(a, (e) => e.type === "file.sent" && e.fid === s.fid);
      const r = await b.files.accept();
      const saved = await r.saved;
      await sent;
      assert.equal(saved, `${dir}/down/file ${k}.bin`);
      assert.deepEqual(await Deno.readFile(saved), data, `size ${size}`);
    }
    assert.deepEqual(await ls(`${dir}/down`), sizes.map((_, k) => `file ${k}.bin`));
    assert.ok(b.files.list().every((f) => f.state === "done" && f.direction === "in"));
    assert.ok(a.files.list().every((f) => f.state === "sent" && f.direction === "out"));
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: an offline peer is a clear error; a node with no download folder cannot accept", async () => {
  const dir = await Deno.makeTempDir();
  const a = await PeerNode.start({
    name: "alice",
    store: await PeerStore.open(null, "alice"),
    hostname: "127.0.0.1",
    port: 0,
  });
  const b = await PeerNode.start({
    name: "bob",
    store: await PeerStore.open(null, "bob"),
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    await Deno.writeFile(`${dir}/x`, bytes(10));
    await assert.rejects(a.sendFile("bob", `${dir}/x`), /No peer named bob/);
    const up = waitFor(a, (e) => e.type === "presence" && e.online);
    await a.connect(`127.0.0.1:${b.port}`);
    await up;
    await assert.rejects(a.sendFile("bob", `${dir}/nope`), /There is no file/);
    const offered = waitFor(b, (e) => e.type === "file.offer");
    await a.sendFile("bob", `${dir}/x`);
    await offered;
    await assert.rejects(b.files.accept(), /--ephemeral\): start it with --out DIR/);
    const refused = waitFor(a, (e) => e.type === "file.failed");
    assert.equal(b.files.reject().state, "rejected");
    const f = await refused;
    assert.ok(f.type === "file.failed" && /bob refused x: bob declined it/.test(f.why), JSON.stringify(f));
    const gone = waitFor(a, (e) => e.type === "presence" && !e.online);
    await b.close();
    await gone;
    // bob is away: the offer waits for him, like a message.
    const q = await a.sendFile("bob", `${dir}/x`);
    assert.equal(q.queued, true);
    assert.deepEqual(a.files.list().filter((e) => e.fid === q.fid).map((e) => e.state), ["paused"]);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Two `PeerFiles` joined in memory through the wire codec, with a hook that may change, drop or
 * replace records on their way (and one, `said`, that sees each record as its sender wrote it), and channels that can be cut (`cut()`) and joined again (`join()`).
 */
function pair(
  dir: string,
  tamper: (r: FileRecord, from: string) => FileRecord | null = (r) => r,
  verified = true,
  stallMs?: number,
  said: (r: FileRecord) => void = () => {},
) {
  const events = { alice: [] as PeerFileEvent[], bob: [] as PeerFileEvent[] };
  const sides: Record<string, PeerFiles> = {};
  let vias: Record<string, Via & { ended: boolean }> = {};
  const join = () => {
    const mk = (from: string, to: string): Via & { ended: boolean } => {
      const v = {
        ended: false,
        say: async (r: FileRecord) => {
          if (v.ended) throw new Error("closed");
          said(r);
          const t = tamper(wireTrip(r), from);
          if (t) {
            await sides[to]!.handle(from, vias[to]!, wireTrip(t));
          }
        },
      };
      return v;
    };
    vias = { alice: mk("alice", "bob"), bob: mk("bob", "alice") };
  };
  join();
  for (const [me, other] of [["alice", "bob"], ["bob", "alice"]] as const) {
    sides[me] = new PeerFiles({
      me,
      via: (p) => (p === other && !vias[me]!.ended ? vias[me] : undefined),
      verified: () => verified,
      emit: (e) => events[me].push(e),
    }, { downloads: `${dir}/${me}`, autoAccept: me === "bob", stallMs });
  }
  const cut = () => {
    const old = vias;
    for (const v of Object.values(old)) v.ended = true;
    sides.alice!.dropped("bob", old.alice!);
    sides.bob!.dropped("alice", old.bob!);
  };
  return { alice: sides.alice!, bob: sides.bob!, events, cut, join };
}

const settle = (pred: () => boolean, what: string) => until(pred, what, 5000, 10);
const ofType = <T extends PeerFileEvent["type"]>(l: PeerFileEvent[], t: T) =>
  l.filter((e): e is Extract<PeerFileEvent, { type: T }> => e.type === t);

Deno.test("peer files: tampered, reordered, spliced, surplus, wrong-size and wrong-hash data are refused; nothing saved", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(3 * CHUNK_SIZE + 5);
  await Deno.writeFile(`${dir}/f.bin`, data);
  const flip = (d: readonly Uint8Array[], at: number) => {
    const b = concatBytes(d);
    b[at]! ^= 1;
    return [b];
  };
  // Data of another transfer of the same file (another key): whole chunks that verify there only.
  let foreign: readonly Uint8Array[] = [];
  {
    const p = pair(`${dir}/x`, (r) => (r.t === "fdata" && (foreign = r.data), r));
    await p.alice.send("bob", `${dir}/f.bin`);
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "the reference transfer");
  }
  const cases: [string, (r: FileRecord) => FileRecord | null, RegExp][] = [
    [
      "a changed byte",
      (r) => r.t === "fdata" ? { ...r, data: flip(r.data, 100) } : r,
      /failed to authenticate/,
    ],
    [
      "a changed tag",
      (r) => r.t === "fdata" ? { ...r, data: flip(r.data, ENC_CHUNK_SIZE - 1) } : r,
      /authenticate/,
    ],
    [
      "two chunks swapped",
      (r) => {
        if (r.t !== "fdata") return r;
        const b = concatBytes(r.data), c0 = b.slice(0, ENC_CHUNK_SIZE);
        b.copyWithin(0, ENC_CHUNK_SIZE, 2 * ENC_CHUNK_SIZE);
        b.set(c0, ENC_CHUNK_SIZE);
        return { ...r, data: [b] };
      },
      /authenticate/,
    ],
    ["chunks of another transfer", (r) => r.t === "fdata" ? { ...r, data: foreign } : r, /authenticate/],
    [
      "a record out of order",
      (r) => r.t === "fdata" ? { ...r, i: r.i + 1 } : r,
      /chunk 1 came where chunk 0/,
    ],
    [
      "surplus data",
      (r) => r.t === "fdata" ? { ...r, data: [...r.data, new Uint8Array([1])] } : r,
      /more data than the size/,
    ],
    [
      "a size one byte larger",
      (r) => r.t === "foffer" ? { ...r, size: r.size + 1 } : r,
      /ended inside a chunk/,
    ],
    [
      "a size one byte smaller",
      (r) => r.t === "foffer" ? { ...r, size: r.size - 1 } : r,
      /more data than the size/,
    ],
    [
      "a size one chunk smaller",
      (r) => r.t === "foffer" ? { ...r, size: r.size - CHUNK_SIZE } : r,
      /more data than the size/,
    ],
    [
      // The data ends before the size says: caught before any chunk is opened.
      "a size one chunk larger",
      (r) => r.t === "foffer" ? { ...r, size: r.size + CHUNK_SIZE } : r,
      /ended inside a chunk/,
    ],
    [
      "another SHA-256",
      (r) => r.t === "foffer" ? { ...r, sha256: "0".repeat(64) } : r,
      /does not match the SHA-256/,
    ],
    [
      "another SHA-256 following the offer",
      (r) => r.t === "fsum" ? { ...r, sha256: "0".repeat(64) } : r,
      /does not match the SHA-256/,
    ],
    [
      "the old format (no fmt)",
      (r) => r.t === "foffer" ? { ...r, fmt: undefined } : r,
      /old format \(C2SP chunked\)/,
    ],
    [
      "an unknown format",
      (r) => r.t === "foffer" ? { ...r, fmt: "age2" } : r,
      /format this Parley does not know \(age2\)/,
    ],
    ["a name with ../", (r) => r.t === "foffer" ? { ...r, name: "../../etc/passwd" } : r, /name is a path/],
    ["a name with a separator", (r) => r.t === "foffer" ? { ...r, name: "sub\\x" } : r, /name is a path/],
    ["a name of ..", (r) => r.t === "foffer" ? { ...r, name: ".." } : r, /name is a path/],
    [
      "a name with control characters",
      (r) => r.t === "foffer" ? { ...r, name: "a\x1b[2Jb" } : r,
      /control characters/,
    ],
    [
      "a name with a bidi override",
      (r) => r.t === "foffer" ? { ...r, name: "txt.\u202eexe" } : r,
      /control characters/,
    ],
    [
      "another file key",
      (r) => r.t === "foffer" ? { ...r, key: toBase64(new Uint8Array(32)) } : r,
      /key does not open/,
    ],
  ];
  try {
    for (const [what, tamper, why] of cases) {
      const p = pair(
        `${dir}/${cases.findIndex((c) => c[0] === what)}`,
        (r, from) => from === "alice" ? tamper(r) : r,
      );
      await p.alice.send("bob", `${dir}/f.bin`);
      await settle(
        () => ofType(p.events.alice, "file.failed").length === 1,
        `${what}: the sender hears of it`,
      );
      const got = ofType(p.events.bob, "file.failed");
      assert.equal(got.length, 1, what);
      assert.match(got[0]!.why, why, what);
      assert.match(got[0]!.why, /^Refused /, what);
      assert.equal(ofType(p.events.bob, "file.saved").length, 0, what);
      assert.deepEqual(
        await ls(`${dir}/${cases.findIndex((c) => c[0] === what)}/bob`),
        [],
        `${what}: nothing on disk`,
      );
      assert.match(ofType(p.events.alice, "file.failed")[0]!.why, /^bob refused f\.bin: /, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: the sender frees each batch's sealed chunks once the channel took it (issue 36)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/f.bin`, bytes(3 * PEER_BATCH * CHUNK_SIZE + 9));
  const batches: Uint8Array[][] = [];
  const p = pair(dir, undefined, true, undefined, (r) => void (r.t === "fdata" && batches.push([...r.data])));
  try {
    await p.alice.send("bob", `${dir}/f.bin`);
    await settle(() => ofType(p.events.alice, "file.sent").length === 1, "sent and saved");
    assert.equal(batches.length, 4);
    for (const [k, b] of batches.entries()) {
      assert.ok(b.every((c) => c.length === 0), `batch ${k}: its sealed chunks freed once written`);
    }
    assert.deepEqual(await Deno.readFile(`${dir}/bob/f.bin`), bytes(3 * PEER_BATCH * CHUNK_SIZE + 9));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: a transfer cut mid-way resumes from the verified chunks of its .part", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(40 * CHUNK_SIZE + 9);
  await Deno.writeFile(`${dir}/big.bin`, data);
  let records = 0, cutAt = 2;
  const asked: number[] = [];
  const p: ReturnType<typeof pair> = pair(dir, (r) => {
    if (r.t === "fget") asked.push(r.from);
    if (r.t === "fdata" && ++records === cutAt) {
      cutAt = -1;
      p.cut(); // the second batch never arrives
      return null;
    }
    return r;
  });
  try {
    await p.alice.send("bob", `${dir}/big.bin`);
    await settle(() => p.alice.list()[0]!.state === "paused", "the sender pauses");
    assert.equal(p.bob.list()[0]!.state, "paused");
    assert.equal(
      (await Deno.stat(`${dir}/bob/big.bin.part`)).size,
      PEER_BATCH * CHUNK_SIZE,
      "one batch verified and kept",
    );
    assert.ok(p.events.bob.some((e) => e.type === "notice" && /goes on when alice is back/.test(e.text)));
    p.join();
    p.alice.connected("bob");
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "saved after the resume");
    assert.deepEqual(asked, [0, PEER_BATCH], "the receiver asked only for what its .part lacked");
    assert.deepEqual(await Deno.readFile(`${dir}/bob/big.bin`), data);
    assert.equal(ofType(p.events.alice, "file.sent").length, 1);
    assert.deepEqual(await ls(`${dir}/bob`), ["big.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: a sender that goes silent with the channel open pauses the download within the stall bound; the .part stays", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/big.bin`, bytes(40 * CHUNK_SIZE + 9));
  let records = 0;
  // After its first batch the sender says nothing more, and the channel stays up.
  const p = pair(dir, (r) => (r.t === "fdata" && ++records >= 2 ? null : r), true, 300);
  try {
    await p.alice.send("bob", `${dir}/big.bin`);
    await settle(() => p.bob.list()[0]?.state === "paused", "the silent download pauses");
    const notice = p.events.bob.find((e) => e.type === "notice" && /No progress for 0\.3 s/.test(e.text));
    assert.ok(notice, "a notice names what it waited for");
    assert.match((notice as { text: string }).text, /waiting for data of big\.bin from alice/);
    assert.equal(
      (await Deno.stat(`${dir}/bob/big.bin.part`)).size,
      PEER_BATCH * CHUNK_SIZE,
      "the .part kept",
    );
  } finally {
    p.alice.close();
    p.bob.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The size of `path` once it stopped growing (two looks 100 ms apart agree; at most 5 s). */
async function settledSize(path: string): Promise<number> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const now = (await Deno.stat(path)).size;
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

Deno.test("peer files: a receiver, then a sender, restarted mid-transfer go on from the .part", async () => {
  const dir = await Deno.makeTempDir();
  const MiB = 1024 * 1024;
  const notices: string[] = [];
  const start = async (name: string, port = 0) => {
    const n = await PeerNode.start({
      name,
      store: await PeerStore.open(`${dir}/${name}`, name),
      hostname: "127.0.0.1",
      port,
      downloads: `${dir}/down`,
      backoff: { minMs: 50, maxMs: 400 },
    });
    n.on((e) => void (e.type === "notice" && notices.push(`${name}: ${e.text}`)));
    return n;
  };
  let a = await start("alice"), b = await start("bob");
  const firstDown = (n: PeerNode) =>
    waitFor(n, (e) => e.type === "transfer" && e.direction === "down") as Promise<
      Extract<BackendEvent, { type: "transfer" }>
    >;
  try {
    const up = waitFor(a, (e) => e.type === "presence" && e.online);
    await a.connect(`127.0.0.1:${b.port}`);
    await up;
    for (const who of ["receiver", "sender"] as const) {
      const data = bytes(24 * MiB + 5, who.length);
      const path = `${dir}/${who}.bin`;
      await Deno.writeFile(path, data);
      const offered = waitFor(b, (e) => e.type === "file.offer");
      await a.sendFile("bob", path);
      await offered;
      const partway = waitFor(b, (e) => e.type === "transfer" && e.state === "active" && e.done >= 2 * MiB);
      await b.files.accept();
      await partway;
      const part = `${path.replace(dir, `${dir}/down`)}.part`;
      let had = 0;
      if (who === "receiver") {
        const port = b.port;
        await b.close();
        had = (await Deno.stat(part)).size;
        b = await start("bob", port); // alice dials it again and offers the file again
      } else {
        const gone = waitFor(b, (e) => e.type === "presence" && !e.online);
        await a.close();
        await gone;
        had = await settledSize(part); // bob's writes of what came before the drop may still be finishing
        a = await start("alice"); // a new port: alice dials bob, whom she knows
      }
      // Registered before anything else runs (the dials wait for a timer).
      const resumed = firstDown(b);
      const saved = waitFor(b, (e) => e.type === "file.saved");
      const sent = waitFor(a, (e) => e.type === "file.sent");
      assert.ok(had >= 2 * MiB && had < data.length, `${who}: ${had} bytes kept`);
      // The side that stayed says what happened, in words.
      const told = who === "receiver"
        ? /^alice: Sending receiver\.bin to bob stopped: the connection dropped; it goes on when bob is back$/
        : /^bob: Receiving sender\.bin from alice stopped: the connection dropped; it goes on when alice is back$/;
      await settle(() => notices.some((l) => told.test(l)), `${who}: ${notices.join("\n")}`);
      assert.equal(
        (await resumed).done,
        had - (had % CHUNK_SIZE),
        `${who}: goes on from the verified chunks`,
      );
      const s = await saved;
      await sent;
      assert.ok(s.type === "file.saved");
      assert.deepEqual(await Deno.readFile(s.path), data, who);
      assert.ok(
        notices.some((l) =>
          new RegExp(`^bob: Receiving ${who}\\.bin from alice again at \\d+\\.\\d MiB of 24\\.0 MiB$`).test(l)
        ),
        notices.join("\n"),
      );
    }
    assert.deepEqual(await ls(`${dir}/down`), ["receiver.bin", "sender.bin"]);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: an offer to a peer that is away waits in the outbox and goes when it is back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = bytes(3 * CHUNK_SIZE + 5);
    await Deno.writeFile(`${dir}/f.bin`, data);
    const p = pair(dir);
    p.cut(); // bob is away
    const s = await p.alice.send("bob", `${dir}/f.bin`);
    assert.equal(s.queued, true);
    assert.ok(
      ofType(p.events.alice, "notice").some((n) => /f\.bin waits for bob to come online/.test(n.text)),
    );
    // Cut: the pair's channels are ended, so nothing can reach bob (no wait needed to see it).
    assert.equal(ofType(p.events.bob, "file.offer").length, 0, "nothing reached bob yet");
    p.join();
    p.alice.connected("bob");
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "saved once bob is back");
    await settle(() => ofType(p.events.alice, "file.sent").length === 1, "sent");
    assert.deepEqual(await Deno.readFile(`${dir}/bob/f.bin`), data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: the wire refuses malformed file records (ids, sizes, hashes, keys, oversized data)", () => {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const offer = {
    t: "foffer",
    fid: "abcdef0123456789",
    name: "x.bin",
    size: 5,
    sha256: "a".repeat(64),
    key: toBase64(new Uint8Array(32)),
    fmt: "age",
    hdr: toBase64(new Uint8Array(184)),
  };
  assert.deepEqual(decodePeerRecord(enc(offer)), offer);
  const full = { t: "fdata", fid: offer.fid, i: 0, n: PEER_BATCH * ENC_CHUNK_SIZE };
  assert.deepEqual(decodePeerRecord(enc(full)), full, "a full batch fits");
  // Offered before it was hashed: its sum follows (`fsum`), asked for by `fhash`.
  for (const r of [{ ...offer, sha256: "" }, { t: "fsum", fid: offer.fid, sha256: offer.sha256 }]) {
    assert.deepEqual(decodePeerRecord(enc(r)), r);
  }
  assert.deepEqual(decodePeerRecord(enc({ t: "fhash", fid: offer.fid })), { t: "fhash", fid: offer.fid });
  // The bulk frame after an fdata must be the bytes it announced.
  const head = { t: "fdata" as const, fid: offer.fid, i: 0, n: 10 };
  assert.equal(joinFileData(head, new Uint8Array(10)).data[0]!.length, 10);
  for (const n of [0, 9, 11]) assert.throws(() => joinFileData(head, new Uint8Array(n)), SyntaxError);
  const bad: [string, unknown][] = [
    ["a short id", { ...offer, fid: "abc" }],
    ["an id with a slash", { ...offer, fid: "abcdefgh/../x" }],
    ["a negative size", { ...offer, size: -1 }],
    ["a fractional size", { ...offer, size: 1.5 }],
    ["a size past 1 TiB", { ...offer, size: 2 ** 41 }],
    ["an upper-case hash", { ...offer, sha256: "A".repeat(64) }],
    ["a short key", { ...offer, key: toBase64(new Uint8Array(16)) }],
    ["a header past 1 KiB", { ...offer, hdr: toBase64(new Uint8Array(800)) }],
    ["an empty name", { ...offer, name: "" }],
    ["a name of 2000 characters", { ...offer, name: "n".repeat(2000) }],
    ["an unknown key", { ...offer, extra: 1 }],
    ["more than one batch of data", { ...full, n: full.n + 1 }],
    ["data inside the record (JSON)", { ...full, n: 4, data: "AAAA" }],
    ["a fractional length", { ...full, n: 1.5 }],
    ["a negative chunk", { t: "fget", fid: offer.fid, from: -1 }],
    ["an end without ok", { t: "fend", fid: offer.fid }],
    ["a sum that is empty", { t: "fsum", fid: offer.fid, sha256: "" }],
    ["a sum that is short", { t: "fsum", fid: offer.fid, sha256: "a".repeat(63) }],
    ["a hash request with a sum", { t: "fhash", fid: offer.fid, sha256: offer.sha256 }],
    ["a reason of 1000 characters", { t: "fend", fid: offer.fid, ok: false, why: "w".repeat(1000) }],
  ];
  for (const [what, r] of bad) assert.throws(() => decodePeerRecord(enc(r)), SyntaxError, what);
});

Deno.test("peer files: --accept-files takes files from verified peers only; an unverified peer's offer waits for /accept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = bytes(CHUNK_SIZE + 9);
    await Deno.writeFile(`${dir}/f.bin`, data);
    const p = pair(`${dir}/u`, undefined, false);
    await p.alice.send("bob", `${dir}/f.bin`);
    // The offer is shown only once bob's side decided not to take it (carried_in.ts): that event is the fence.
    await settle(() => ofType(p.events.bob, "file.offer").length === 1, "the offer is shown");
    assert.equal(ofType(p.events.bob, "file.saved").length, 0, "not taken at once");
    assert.equal(ofType(p.events.bob, "file.offer")[0]!.offer.verified, false);
    assert.ok(
      ofType(p.events.bob, "notice").some((n) =>
        /waits for \/accept: alice's key is not verified/.test(n.text)
      ),
    );
    await assert.rejects(Deno.stat(`${dir}/u/bob`), Deno.errors.NotFound, "nothing on disk");
    const { saved } = await p.bob.accept(1); // the user's own /accept still works
    assert.deepEqual(await Deno.readFile(await saved), data);
    const v = pair(`${dir}/v`); // a verified peer: taken at once
    await v.alice.send("bob", `${dir}/f.bin`);
    await settle(() => ofType(v.events.bob, "file.saved").length === 1, "saved at once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: --accept-files leaves an offer over 4 GiB from a verified peer waiting for /accept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.bin`, bytes(10));
    // A peer that declares 5 GiB (its data would be refused past 10 bytes anyway).
    const p = pair(dir, (r) => (r.t === "foffer" ? { ...r, size: 5 * 2 ** 30 } : r));
    await p.alice.send("bob", `${dir}/f.bin`).catch(() => {});
    await settle(() => ofType(p.events.bob, "file.offer").length === 1, "the offer is shown");
    assert.ok(
      ofType(p.events.bob, "notice").some((n) =>
        /waits for \/accept: 5\.0 GiB is over the size limit/.test(n.text)
      ),
      JSON.stringify(p.events.bob),
    );
    await assert.rejects(Deno.stat(`${dir}/bob`), Deno.errors.NotFound, "nothing on disk");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: the offer goes before the file is hashed; its SHA-256 follows (fsum) as it is read for sending, or at once for a person's offer (fhash)", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(40 * CHUNK_SIZE + 9), sum = await sha256Hex(data);
  await Deno.writeFile(`${dir}/f.bin`, data);
  try {
    // Taken at once (--accept-files, verified): data flows before the sum is known.
    const said: FileRecord[] = [];
    const p = pair(`${dir}/auto`, (r) => r, true, undefined, (r) => said.push(r));
    const s = await p.alice.send("bob", `${dir}/f.bin`);
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "saved");
    assert.equal(await s.sum, sum);
    const kinds = said.map((r) => r.t);
    const offer = said.find((r) => r.t === "foffer");
    assert.ok(offer?.t === "foffer" && offer.sha256 === "", "offered before it was hashed");
    assert.ok(kinds.indexOf("fdata") < kinds.indexOf("fsum"), `data before the sum: ${kinds.join(" ")}`);
    assert.equal(kinds.filter((k) => k === "fsum").length, 1);
    assert.equal(ofType(p.events.bob, "file.saved")[0]!.sha256, sum);
    await settle(() => ofType(p.events.alice, "file.sent").length === 1, "sent");
    assert.equal(ofType(p.events.alice, "file.sent")[0]!.sha256, sum);
    assert.deepEqual(await Deno.readFile(`${dir}/auto/bob/f.bin`), data);

    // The sum held back until every chunk is in: the file waits for it, then is saved.
    let held: FileRecord | null = null;
    const h = pair(`${dir}/late`, (r) => r.t === "fsum" && !held ? (held = r, null) : r);
    await h.alice.send("bob", `${dir}/f.bin`);
    await settle(() => held !== null, "the sum held back");
    const part = `${dir}/late/bob/f.bin.part`;
    await settle(() => Deno.statSync(part).size === data.length, "every chunk in");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ofType(h.events.bob, "file.saved").length, 0, "not saved without the sum");
    await h.bob.handle("alice", { say: () => Promise.resolve(), ended: false }, held!);
    await settle(() => ofType(h.events.bob, "file.saved").length === 1, "saved once the sum came");
    assert.deepEqual(await Deno.readFile(`${dir}/late/bob/f.bin`), data);

    // For a person (not verified): the offer is shown with its sum, asked for at once.
    const said2: FileRecord[] = [];
    let sum2: FileRecord | null = null;
    const q = pair(
      `${dir}/manual`,
      (r) => r.t === "fsum" ? (sum2 = r, null) : r,
      false,
      undefined,
      (r) => said2.push(r),
    );
    await q.alice.send("bob", `${dir}/f.bin`);
    await settle(() => sum2 !== null, "hashed when asked");
    assert.deepEqual(q.bob.waiting(), [], "not waiting before its sum");
    assert.equal(ofType(q.events.bob, "file.offer").length, 0, "not shown before its sum");
    await q.bob.handle("alice", { say: () => Promise.resolve(), ended: false }, sum2!);
    await settle(() => ofType(q.events.bob, "file.offer").length === 1, "shown");
    assert.equal(ofType(q.events.bob, "file.offer")[0]!.offer.sha256, sum);
    assert.deepEqual(said2.map((r) => r.t), ["foffer", "fhash", "fsum"], "hashed at once, nothing sent yet");
    assert.deepEqual(q.bob.waiting().map((w) => w.sha256), [sum]);
    await (await q.bob.accept()).saved;
    assert.deepEqual(await Deno.readFile(`${dir}/manual/bob/f.bin`), data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: a file changed while its transfer was cut (same size and time) is refused on resume", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(40 * CHUNK_SIZE + 9);
  await Deno.writeFile(`${dir}/big.bin`, data);
  const { mtime } = await Deno.stat(`${dir}/big.bin`);
  let records = 0;
  const p: ReturnType<typeof pair> = pair(dir, (r) => {
    if (r.t === "fdata" && ++records === 2) return p.cut(), null;
    return r;
  });
  try {
    await p.alice.send("bob", `${dir}/big.bin`);
    await settle(() => p.bob.list()[0]!.state === "paused", "cut");
    await Deno.writeFile(`${dir}/big.bin`, bytes(data.length, 7));
    await Deno.utime(`${dir}/big.bin`, mtime!, mtime!);
    p.join();
    p.alice.connected("bob");
    await settle(() => ofType(p.events.bob, "file.failed").length === 1, "refused after the resume");
    assert.match(ofType(p.events.bob, "file.failed")[0]!.why, /does not match the SHA-256/);
    assert.equal(ofType(p.events.bob, "file.saved").length, 0);
    assert.deepEqual(await ls(`${dir}/bob`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: an offer made again goes with its SHA-256, hashed first (a 0.6 peer drops the channel at one without it)", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(10 * CHUNK_SIZE + 3), sum = await sha256Hex(data);
  await Deno.writeFile(`${dir}/f.bin`, data);
  let old = true; // bob acts as a 0.6 node until the channel is joined again
  const after: FileRecord[] = [];
  const p: ReturnType<typeof pair> = pair(
    dir,
    (r) => {
      if (old && r.t === "foffer" && !r.sha256) return p.cut(), null;
      return r;
    },
    true,
    undefined,
    (r) => !old && after.push(r),
  );
  try {
    await p.alice.send("bob", `${dir}/f.bin`);
    assert.equal(p.alice.list()[0]!.state, "offered"); // and the channel dropped at it
    old = false;
    p.join();
    p.alice.connected("bob");
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "saved");
    const offer = after[0];
    assert.ok(offer?.t === "foffer" && offer.sha256 === sum, JSON.stringify(offer));
    assert.ok(!after.some((r) => r.t === "fsum" || r.t === "fhash"), after.map((r) => r.t).join(" "));
    assert.deepEqual(await Deno.readFile(`${dir}/bob/f.bin`), data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer files: the transfers kept follow files/book.ts bounded — past 200 the oldest finished go, open ones stay", () => {
  const m = new Map<string, { state: CarriedOutState }>();
  for (let i = 0; i < 201; i++) keep(m, `k${i}`, { state: i === 0 ? "paused" : "sent" }, ["paused"]);
  assert.equal(m.size, 200);
  assert.ok(m.has("k0") && !m.has("k1") && m.has("k200"), "the open oldest stays, the oldest finished goes");
});

Deno.test("peer files: a failure not the file's fault (its .part gone from the disk) pauses the download, which resumes when offered again (disk.ts partGoes)", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(20 * CHUNK_SIZE + 3);
  await Deno.writeFile(`${dir}/f.bin`, data);
  let held: FileRecord | null = null;
  const p = pair(dir, (r) => r.t === "fsum" && !held ? (held = r, null) : r);
  try {
    await p.alice.send("bob", `${dir}/f.bin`);
    await settle(() => held !== null, "the sum held back");
    const part = `${dir}/bob/f.bin.part`;
    await settle(() => Deno.statSync(part).size === data.length, "every chunk in");
    await Deno.remove(part); // the disk fails the rename: not the file's fault
    await p.bob.handle("alice", { say: () => Promise.resolve(), ended: false }, held!);
    await settle(() => p.bob.list()[0]!.state === "paused", "paused, not failed");
    assert.equal(ofType(p.events.bob, "file.failed").length, 0, "no failure said");
    assert.ok(
      p.events.bob.some((e) => e.type === "notice" && /goes on when alice offers it again/.test(e.text)),
    );
    p.cut();
    p.join();
    p.alice.connected("bob");
    await settle(() => ofType(p.events.bob, "file.saved").length === 1, "saved after the offer came again");
    assert.deepEqual(await Deno.readFile(`${dir}/bob/f.bin`), data);
  } finally {
    p.alice.close();
    p.bob.close();
    await Deno.remove(dir, { recursive: true });
  }
});
