/**
 * The direct path of file transfers (issue 12) against an in-process server: with both clients online
 * the recipient listens, announces its candidate end to end, and the sender connects with the signed
 * handshake — the server's file store takes no byte (`--direct`) or only what went before the path
 * opened (auto). A recipient that opens no path fails `--direct` with a clear error and leaves auto on
 * the relay; an unreachable candidate or an impostor (the sender expects another identity key) falls
 * back to the relay within two seconds.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { CHUNK_SIZE } from "../lib/crypto/age_stream.ts";
import { BackendError } from "../lib/client/backend.ts";
import { publicIdentity } from "../lib/crypto/identity.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { attachFileDesk } from "../lib/client/start/launch.ts";
import type { InRecord } from "../lib/client/files/book.ts";
import { eventually, runAs, runProgram, startTestServer, type TestServer } from "./helpers.ts";

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

async function setup(t: TestServer) {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  await a.client.sync();
  await b.client.sync();
  // Bytes the server's file store took, whatever the path.
  let stored = 0;
  const append = t.srv.files.append.bind(t.srv.files);
  t.srv.files.append = (f, body) => ((stored += body.length), append(f, body));
  return { a, b, stored: () => stored };
}

async function file(t: TestServer, name: string, data: Uint8Array): Promise<string> {
  await Deno.mkdir(`${t.dir}/src`, { recursive: true });
  await Deno.writeFile(`${t.dir}/src/${name}`, data);
  return `${t.dir}/src/${name}`;
}

/** Bob accepts the next offer as soon as it is there. */
async function acceptNext(fb: FileTransfers, dir: string, seen: Set<string>) {
  const rec = (await eventually(
    async () => (await fb.incoming()).find((r: InRecord) => r.state === "offered" && !seen.has(r.fid)),
    10_000,
    "an offer",
  ))!;
  seen.add(rec.fid);
  return await fb.accept(rec, dir);
}

Deno.test("direct files: --direct sizes at the chunk edges go straight to the recipient; the server stores nothing", async () => {
  const t = await startTestServer();
  try {
    const { a, b, stored } = await setup(t);
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    const seen = new Set<string>();
    for (const [i, n] of [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * 1024 * 1024 + 3].entries()) {
      const data = bytes(n, i + 3);
      const p = await file(t, `d${n}.bin`, data);
      const [sent, got] = await Promise.all([
        fa.send("bob", p, "direct", 10_000),
        acceptNext(fb, `${t.dir}/down`, seen),
      ]);
      assert.equal(sent.via, "direct", `${n} bytes`);
      assert.equal(got.via, "direct", `${n} bytes`);
      assert.equal(await sha256Hex(await Deno.readFile(got.path)), await sha256Hex(data), `${n} bytes`);
      assert.equal(got.rec.sha256, sent.sha256);
    }
    assert.equal(stored(), 0, "no file byte went through the server");
  } finally {
    await t.stop();
  }
});

Deno.test("direct files: auto moves to the direct path once the recipient opens it; fewer bytes reach the server", async () => {
  const t = await startTestServer();
  try {
    const { a, b, stored } = await setup(t);
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    // Big enough that what goes up the relay before the recipient's direct path opens (~0.3 s of a
    // relayed upload, ~19 MB with the pipelined sender) stays well under half of it.
    const data = bytes(64 * 1024 * 1024, 5);
    const p = await file(t, "auto.bin", data);
    const [sent, got] = await Promise.all([fa.send("bob", p), acceptNext(fb, `${t.dir}/down`, new Set())]);
    assert.equal(sent.via, "direct");
    assert.equal(got.via, "direct");
    assert.equal(await sha256Hex(await Deno.readFile(got.path)), await sha256Hex(data));
    assert.ok(stored() < data.length / 2, `server stored ${stored()} of ${data.length} bytes`);
  } finally {
    await t.stop();
  }
});

Deno.test("direct files: a file too big for the relay goes straight (auto says so); a direct file takes no quota and its recipient's done clears it", async () => {
  const t = await startTestServer({ fileQuota: 100_000 });
  try {
    const { a, b, stored } = await setup(t);
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    const notices: string[] = [];
    a.client.on((e) => e.type === "notice" && notices.push(e.text));
    const seen = new Set<string>();
    // Larger than the sender's whole quota: auto goes direct instead of failing (a day of real use:
    // 1.5 GB could not be sent at all, not even --direct).
    const data = bytes(300_000, 11);
    const [sent, got] = await Promise.all([
      fa.send("bob", await file(t, "big.bin", data)),
      acceptNext(fb, `${t.dir}/down`, seen),
    ]);
    assert.equal(sent.via, "direct");
    assert.equal(await sha256Hex(await Deno.readFile(got.path)), await sha256Hex(data));
    assert.match(
      notices.join("\n"),
      /The server does not relay big\.bin: That file is 293\.\d KiB with its encryption: more than the 97\.7 KiB this server relays for one sender\. It goes straight to bob once they accept it/,
    );
    assert.equal(stored(), 0);
    // The recipient's done clears the record though its sender never finished an upload.
    assert.equal(t.srv.files.get(sent.fid)?.state, "done");
    // A relayed file waiting (60 KB of the 100 KB quota) leaves room for a direct one of 90 KB.
    const waiting = await fa.send("bob", await file(t, "wait.bin", bytes(60_000, 12)), "relay");
    const [sent2] = await Promise.all([
      fa.send("bob", await file(t, "d.bin", bytes(90_000, 13)), "direct", 10_000),
      acceptNext(fb, `${t.dir}/down`, new Set([...seen, waiting.fid])),
    ]);
    assert.equal(sent2.via, "direct");
    assert.equal(
      t.srv.files.used("alice"),
      t.srv.files.get(waiting.fid)!.size,
      "the direct file counts nothing",
    );
    // Over the quota on the relay alone: said in sizes, with what waits.
    await assert.rejects(
      fa.send("bob", await file(t, "more.bin", bytes(60_000, 14)), "relay"),
      /That file is 58\.\d KiB with its encryption, and 58\.\d KiB of yours wait for their recipients: the server holds at most 97\.7 KiB for you/,
    );
    // A recipient who opens no direct path is told why, at once (not a stall of the relay).
    const relayOnly = new FileTransfers(b.client, fb.ops, () => {}, 200, false); // receive --relay
    const [late, took] = await Promise.allSettled([
      fa.send("bob", await file(t, "r.bin", bytes(1000, 15)), "direct", 3000),
      acceptNext(relayOnly, `${t.dir}/down`, new Set([...seen, waiting.fid, sent2.fid])),
    ]);
    assert.equal(late.status, "rejected");
    assert.match(
      String((took as PromiseRejectedResult).reason),
      /alice sends r\.bin only by the direct path \(the server does not relay it\), and none opened: take it with the direct path open \(without --relay\)/,
    );
    // A direct file's record takes no byte; a room's file cannot be direct.
    const put = (h: Record<string, unknown>, body = new Uint8Array(0)) =>
      a.client.conn.request("file.put", { fid: "directfid01", to: "bob", size: 100, off: 0, ...h }, body);
    assert.equal((await put({ direct: true })).header.direct, true);
    await assert.rejects(
      put({}, new Uint8Array(10)),
      /goes straight to its recipient: the server takes none of it/,
    );
    await assert.rejects(
      put({ fid: "directfid02", to: "team", room: true, direct: true }),
      /room's file goes through the server/,
    );
  } finally {
    await t.stop();
  }
});

Deno.test("direct files: a file too big for the relay sent while its recipient is away stays offered; a later send takes it straight once they accepted", async () => {
  const t = await startTestServer({ fileQuota: 100_000 });
  try {
    const { a, b } = await setup(t);
    const fa = FileTransfers.of(a.client);
    await b.client.close(); // bob is away
    const data = bytes(300_000, 21);
    const p = await file(t, "away.bin", data);
    // Nobody opens a path in time: the send ends, saying how to go on; the offer and the record stay.
    await assert.rejects(
      fa.send("bob", p, "auto", 1500),
      (e) =>
        e instanceof BackendError && e.code === "direct_waiting" &&
        /bob did not take away\.bin within 2 s \(are they online\? parley who\): it stays offered/.test(
          e.message,
        ),
    );
    const [rec] = await fa.outgoing();
    assert.equal(rec?.state, "uploading", "kept for a later send");
    // Bob is back and accepts while alice sends nothing: his path opens and closes unused (its
    // candidate stays filed at alice, stale), and he is told why nothing came.
    const b2 = await t.e2eClient("bob", { register: false });
    await b2.client.sync();
    const fb = FileTransfers.of(b2.client);
    const again: string[] = [];
    b2.client.on((e) => e.type === "file.again" && again.push(e.fid));
    const offer = (await eventually(async () => (await fb.incoming())[0], 10_000, "the offer"))!;
    await assert.rejects(
      fb.accept(offer, `${t.dir}/down`),
      /alice's Parley is not sending it now \(offline\?\); it stays accepted/,
    );
    // Alice sends it again: the offer goes again, bob's client is told ("file.again") and his
    // full-screen client's desk takes it by itself, and says so; the stale candidate is passed over.
    const notices: string[] = [];
    b2.client.on((e) => e.type === "notice" && notices.push(e.text));
    attachFileDesk(b2.client, `${t.dir}/outbox`, `${t.dir}/down`); // its first look finds alice away
    await eventually(() => notices.some((n) => /not sending it now/.test(n)), 10_000, "the desk's first try");
    const sent = await fa.send("bob", p, "auto", 20_000);
    await eventually(() => again.length === 1, 10_000, "file.again");
    const saved = `${t.dir}/down/away.bin`;
    await eventually(
      () => notices.includes(`away.bin from alice came: saved ${saved} (293.0 KiB)`),
      10_000,
      "came",
    );
    assert.deepEqual([sent.via, sent.fid], ["direct", offer.fid]);
    assert.equal(await sha256Hex(await Deno.readFile(saved)), await sha256Hex(data));
    // One bob refuses ends its send at once (its wait would have lasted a minute), for good.
    const t0 = Date.now();
    const refusing = fa.send("bob", await file(t, "unwanted.bin", bytes(300_000, 22)), "auto", 60_000);
    const unwanted = (await eventually(
      async () => (await fb.incoming()).find((r) => r.name === "unwanted.bin"),
      10_000,
      "the second offer",
    ))!;
    await fb.reject(unwanted);
    await assert.rejects(refusing, /bob refused unwanted\.bin \(or the server let it expire\)/);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.equal((await fa.outgoing()).find((r) => r.name === "unwanted.bin")?.state, "failed");
  } finally {
    await t.stop();
  }
});

Deno.test("direct files: a recipient with no direct path — --direct fails clearly, auto stays on the relay", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await setup(t);
    const fa = FileTransfers.of(a.client);
    const ops = FileTransfers.of(b.client).ops;
    const fb = new FileTransfers(b.client, ops, () => {}, 200, false); // receive --relay
    const data = bytes(2 * 1024 * 1024, 9);
    const p = await file(t, "relay.bin", data);
    const started = Date.now();
    const accepting = acceptNext(fb, `${t.dir}/down`, new Set());
    accepting.catch(() => {}); // it may end (withdrawn, woken by file.wait) before send's refusal; checked below
    await assert.rejects(
      fa.send("bob", p, "direct", 1500),
      (e) =>
        e instanceof BackendError && e.code === "direct_failed" &&
        /bob did not open a direct path/.test(e.message),
    );
    assert.ok(Date.now() - started < 8000);
    // Bob's accept ends at once with why (a direct-only file, and his path closed); sent again without
    // --direct it relays.
    await assert.rejects(
      accepting,
      /only by the direct path .*: take it with the direct path open \(without --relay\)/,
    );
    const [sent, got] = await Promise.all([fa.send("bob", p), acceptNext(fb, `${t.dir}/down2`, new Set())]);
    assert.equal(sent.via, "relay");
    assert.equal(got.via, "relay");
    assert.equal(await sha256Hex(await Deno.readFile(got.path)), await sha256Hex(data));
  } finally {
    await t.stop();
  }
});

Deno.test("direct files: an unreachable candidate or an impostor falls back to the relay within two seconds", async () => {
  const t = await startTestServer();
  try {
    const { a, b } = await setup(t);
    const carol = await t.e2eClient("carol");
    const fbOps = FileTransfers.of(b.client).ops;
    const data = bytes(3 * 1024 * 1024 + 11, 4);
    const p = await file(t, "fallback.bin", data);
    // 1. Bob announces a port nobody listens on.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const fb = new FileTransfers(b.client, {
      ...fbOps,
      ready: (to, r) => fbOps.ready(to, { ...r, port: deadPort }),
    });
    const fa = FileTransfers.of(a.client);
    let t0 = Date.now();
    const [s1, g1] = await Promise.all([fa.send("bob", p), acceptNext(fb, `${t.dir}/d1`, new Set())]);
    assert.equal(s1.via, "relay");
    assert.equal(g1.via, "relay");
    assert.equal(await sha256Hex(await Deno.readFile(g1.path)), await sha256Hex(data));
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    // 2. Alice expects another identity key for bob than the one bob proves: refused, relayed.
    const faOps = FileTransfers.of(a.client).ops;
    const wrong = await carol.codec.identity();
    const fa2 = new FileTransfers(a.client, {
      ...faOps,
      pinned: () => Promise.resolve(publicIdentity(wrong)),
    });
    const fb2 = FileTransfers.of(b.client);
    const accepting2 = acceptNext(fb2, `${t.dir}/d2`, new Set([g1.rec.fid]));
    await assert.rejects(
      fa2.send("bob", p, "direct", 10_000),
      (e) =>
        e instanceof BackendError && e.code === "direct_failed" && /No direct path to bob/.test(e.message),
    );
    t0 = Date.now();
    await assert.rejects(accepting2, /withdrew/); // the server says so, or the sender end to end: whichever comes first
    const seen = new Set((await fb2.incoming()).map((r) => r.fid));
    const [s3, g3] = await Promise.all([fa2.send("bob", p), acceptNext(fb2, `${t.dir}/d3`, seen)]);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.equal(s3.via, "relay");
    assert.equal(g3.via, "relay");
    assert.equal(await sha256Hex(await Deno.readFile(g3.path)), await sha256Hex(data));
  } finally {
    await t.stop();
  }
});

Deno.test("direct files, scripted: send-file --direct while receive waits; receive --relay makes --direct-only fail; --direct with nobody there relays", async () => {
  const t = await startTestServer();
  const cli = (home: string, user: string, ...args: string[]) =>
    runProgram(
      "client.ts",
      [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--home", home, "--trust-on-first-use"],
      { PARLEY_PASSWORD: `pw-${user}-secret` },
    );
  const ha = `${t.dir}/home-a`, hb = `${t.dir}/home-b`;
  try {
    for (const [h, u] of [[ha, "alice"], [hb, "bob"]] as const) {
      assert.equal((await cli(h, u, "register")).code, 0);
    }
    let stored = 0;
    const append = t.srv.files.append.bind(t.srv.files);
    t.srv.files.append = (f, body) => ((stored += body.length), append(f, body));
    const data = bytes(4 * 1024 * 1024 + 5, 2);
    const p = await file(t, "cli.bin", data);
    const sum = await sha256Hex(data);
    const [s, r] = await Promise.all([
      cli(ha, "alice", "send-file", "bob", p, "--direct", "--wait", "60"),
      cli(hb, "bob", "receive", "--from", "alice", "--out", `${t.dir}/down`, "--timeout", "60"),
    ]);
    assert.equal(s.out.trim(), `sent cli.bin ${data.length} ${sum}`, s.err);
    assert.match(s.err, /cli\.bin went straight to bob/);
    assert.match(s.err, /waiting up to 60 s for bob to accept/, "--direct says what it waits for");
    assert.equal(r.out.trim(), `saved ${t.dir}/down/cli.bin ${data.length} ${sum}`, r.err);
    assert.equal(stored, 0);
    const [s2, r2] = await Promise.all([
      cli(ha, "alice", "send-file", "bob", p, "--direct-only", "--wait", "3"),
      cli(hb, "bob", "receive", "--from", "alice", "--out", `${t.dir}/down2`, "--timeout", "30", "--relay"),
    ]);
    assert.equal(s2.code, 1);
    assert.match(s2.err, /bob did not open a direct path in time/);
    assert.doesNotMatch(s2.err, /through the server/, "--direct-only never relays");
    assert.equal(r2.code, 1);
    assert.equal(r2.out, "", "nothing saved: it comes by the direct path only");
    assert.match(r2.err, /alice sends cli\.bin only by the direct path .* \(without --relay\)/);
    // --direct with nobody there: after its short wait it goes through the server, and says so (issue 71.15).
    const s3 = await cli(ha, "alice", "send-file", "bob", p, "--direct", "--wait", "2");
    assert.equal(s3.code, 0, s3.err);
    assert.match(
      s3.err,
      /waiting up to 2 s for bob to accept \(parley receive\) and open a direct path, then through the server/,
    );
    assert.match(s3.err, /bob did not open a direct path in time; sending through the server instead/);
    assert.match(s3.err, /cli\.bin went through the server to bob/);
    assert.equal(s3.out.trim(), `sent cli.bin ${data.length} ${sum}`);
    assert.ok(stored >= data.length, "the relay holds it");
    const r3 = await cli(
      hb,
      "bob",
      "receive",
      "--from",
      "alice",
      "--out",
      `${t.dir}/down3`,
      "--timeout",
      "30",
    );
    assert.equal(r3.out.trim(), `saved ${t.dir}/down3/cli.bin ${data.length} ${sum}`, r3.err);
  } finally {
    await t.stop();
  }
});

Deno.test("direct files, scripted: a file too big for the relay to someone away: send-file keeps it; receive --timeout waits for its sender, in a folder made again", async () => {
  const t = await startTestServer({ fileQuota: 100_000 });
  const cli = (user: string, ...args: string[]) => runAs(t, user, args);
  try {
    for (const u of ["alice", "bob"]) assert.equal((await cli(u, "register")).code, 0);
    const data = bytes(300_000, 31);
    const p = await file(t, "later.bin", data);
    const s1 = await cli("alice", "send-file", "bob", p, "--wait", "2");
    assert.equal(s1.code, 1);
    assert.match(s1.err, /It goes straight to bob once they accept it \(waiting up to 2 s\)/);
    assert.match(
      s1.err,
      /bob did not take later\.bin within 2 s \(are they online\? parley who\): it stays offered/,
    );
    // Bob takes it while alice is away: it stays accepted, its folder chosen; then he removes that folder.
    const down = `${t.dir}/down`;
    const r1 = await cli("bob", "receive", "--from", "alice", "--out", down);
    assert.equal(r1.code, 1);
    assert.match(r1.err, /alice's Parley is not sending it now \(offline\?\); it stays accepted/);
    await Deno.remove(down, { recursive: true });
    // A receive that may wait waits for her; she sends it again: it goes straight, into the folder made again.
    let said = "";
    const args = ["receive", "--from", "alice", "--out", down, "--timeout", "60"];
    const r2 = runAs(t, "bob", args, undefined, (err) => said = err);
    // The event: bob's receive tried it (alice is away) and says it waits for her.
    await eventually(() => /waiting for them/.test(said), 30_000, "bob's receive to wait");
    const s2 = await cli("alice", "send-file", "bob", p, "--wait", "30");
    const got = await r2;
    assert.equal(s2.code, 0, s2.err);
    assert.match(s2.err, /later\.bin went straight to bob/);
    assert.equal(got.code, 0, got.err);
    assert.match(got.err, /alice is not sending later\.bin now; waiting for them/);
    assert.equal(got.out.trim(), `saved ${down}/later.bin ${data.length} ${await sha256Hex(data)}`);
  } finally {
    await t.stop();
  }
});

/** A TCP proxy to `port` that flips one byte of what the dialer sends, `at` bytes in. */
function tamperingProxy(
  port: number,
  at: number,
): { port: number; close: () => void; flipped: () => boolean } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let flipped = false;
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const a of l) {
      const b = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(a, b);
      (async () => {
        let seen = 0;
        const buf = new Uint8Array(65536);
        for (let n; (n = await a.read(buf).catch(() => null)) !== null;) {
          const chunk = buf.slice(0, n);
          if (!flipped && seen + n > at) {
            chunk[at - seen]! ^= 1;
            flipped = true;
          }
          seen += n;
          await b.write(chunk).catch(() => {});
        }
        b.close();
      })().catch(() => {});
      b.readable.pipeTo(a.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    flipped: () => flipped,
    close: () => {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("direct files: a chunk altered on the direct path is refused and the relay finishes the file intact", async () => {
  const t = await startTestServer();
  let proxy: ReturnType<typeof tamperingProxy> | undefined;
  try {
    const { a, b } = await setup(t);
    const fbOps = FileTransfers.of(b.client).ops;
    const fb = new FileTransfers(b.client, {
      ...fbOps,
      ready: (to, r) => {
        // Early in the direct path's data (its hello is a few hundred bytes): how much of the file goes
        // up the relay before the sender moves to the direct path varies (a CI run sent less than 3 MiB
        // of a 24 MiB file directly once the relay got faster).
        proxy = tamperingProxy(r.port, 512 * 1024);
        return fbOps.ready(to, { ...r, port: proxy.port });
      },
    });
    // Big enough that a good part goes direct even when the relay runs fast before the switch (~19 MB).
    const data = bytes(40 * 1024 * 1024, 8);
    const p = await file(t, "tampered.bin", data);
    const [sent, got] = await Promise.all([
      FileTransfers.of(a.client).send("bob", p),
      acceptNext(fb, `${t.dir}/dt`, new Set()),
    ]);
    assert.ok(proxy?.flipped(), "the proxy altered a byte of a chunk");
    assert.equal(got.via, "relay", "the receiver left the direct path");
    assert.equal(sent.via, "relay");
    assert.equal(await sha256Hex(await Deno.readFile(got.path)), await sha256Hex(data));
  } finally {
    proxy?.close();
    await t.stop();
  }
});

Deno.test("direct files: --direct goes straight 10 times out of 10 while another client of the sender's folder is online", async () => {
  const t = await startTestServer();
  try {
    // `a` stands for the sender's full-screen client: connected first, opening what arrives. The
    // scripted sender is a second client of the same folder.
    const { b } = await setup(t);
    const sender = await t.e2eClient("alice", { register: false, home: `${t.dir}/home-alice` });
    await sender.client.sync();
    const fa = FileTransfers.of(sender.client), fb = FileTransfers.of(b.client);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const data = bytes(1000 + i, i + 20);
      const p = await file(t, `two${i}.bin`, data);
      const [sent, got] = await Promise.all([
        fa.send("bob", p, "direct", 10_000),
        acceptNext(fb, `${t.dir}/down`, seen),
      ]);
      assert.equal(sent.via, "direct", `try ${i + 1}`);
      assert.equal(got.via, "direct", `try ${i + 1}`);
      assert.deepEqual(await Deno.readFile(got.path), data);
    }
  } finally {
    await t.stop();
  }
});
