/**
 * The scripted file commands as real processes (`deno run client.ts …`) against an in-process
 * server (issue 12): send-file / receive / files output; `kill -9` of the sender and then of the
 * receiver mid-transfer, each run again → the transfer continues and the SHA-256 matches; names
 * with path traversal and control characters saved under a safe name inside the download folder.
 * The server's disk is slowed down in-process so that the kill lands mid-transfer.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { sha256Hex, toBase64 } from "../lib/common/bytes.ts";
import { FileTransfers } from "../lib/client/files/transfers.ts";
import { sanitize } from "../lib/common/sanitize.ts";
import type { OutRecord } from "../lib/client/files/book.ts";
import {
  eventually,
  PROGRAM_PERMS,
  rootFile,
  runProgram,
  scriptedCli,
  startTestServer,
  type TestServer,
} from "./helpers.ts";
import { test } from "./deadline.ts";

function cliArgs(t: TestServer, home: string, user: string, args: string[]) {
  return [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--home", home, "--trust-on-first-use"];
}

async function cli(t: TestServer, home: string, user: string, ...args: string[]) {
  const r = await runProgram("client.ts", cliArgs(t, home, user, args), {
    PARLEY_PASSWORD: `pw-${user}-secret`,
  });
  return { code: r.code, out: r.out.trim(), err: r.err.trim() };
}

function spawnCli(t: TestServer, home: string, user: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PROGRAM_PERMS, rootFile("client.ts"), ...cliArgs(t, home, user, args)],
    env: { NO_COLOR: "1", PARLEY_PASSWORD: `pw-${user}-secret` },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function kill9(p: Deno.ChildProcess): Promise<void> {
  p.kill("SIGKILL");
  await p.status;
}

const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("scripted files: send-file, files, receive; kill -9 of sender and receiver mid-transfer resume", async () => {
  const t = await startTestServer();
  const ha = `${t.dir}/home-a`, hb = `${t.dir}/home-b`, down = `${t.dir}/down`;
  try {
    for (const [h, u] of [[ha, "alice"], [hb, "bob"]] as const) {
      assert.equal((await cli(t, h, u, "register")).code, 0);
    }
    // A small file first: the whole contract.
    await Deno.writeTextFile(`${t.dir}/note.txt`, "hello file\n");
    let r = await cli(t, ha, "alice", "send-file", "bob", `${t.dir}/note.txt`);
    const sum = await sha256Hex("hello file\n");
    assert.equal(r.out, `sent note.txt 11 ${sum}`, r.err);
    r = await cli(t, hb, "bob", "files");
    assert.match(r.out, new RegExp(`^in  \\S+  from alice  11  offered  note\\.txt$`));
    r = await cli(t, hb, "bob", "read");
    assert.equal(r.out, "", "the offer is not a chat message");
    r = await cli(t, hb, "bob", "receive", "--from", "alice", "--out", down);
    assert.equal(r.out, `saved ${down}/note.txt 11 ${sum}`, r.err);
    assert.equal(await Deno.readTextFile(`${down}/note.txt`), "hello file\n");
    r = await cli(t, ha, "alice", "files", "--json");
    assert.equal(JSON.parse(r.out).outgoing[0].delivered, true);
    r = await cli(t, hb, "bob", "receive", "--from", "alice", "--out", down);
    assert.equal(r.err, "No files offered");
    r = await cli(t, ha, "alice", "send-file", "bob", `${t.dir}/note.txt`, "--direct", "--relay");
    assert.equal(r.code, 2, "a usage error");
    assert.match(r.err, /Use only one of --direct and --relay/);

    // kill -9 the sender mid-upload (the server's disk made slow), run it again.
    const big = new Uint8Array(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(`${t.dir}/big.bin`, big);
    const bigSum = await sha256Hex(big);
    const files = t.srv.files;
    const append = files.append.bind(files);
    files.append = async (f, body) => (await slow(40), await append(f, body));
    const sender = spawnCli(t, ha, "alice", "send-file", "bob", `${t.dir}/big.bin`);
    const entry = (await eventually(
      () => files.list("alice").find((f) => f.have > 1024 * 1024),
      20_000,
      "upload",
    ))!;
    await kill9(sender);
    const cut = entry.have;
    assert.ok(cut < entry.size, "killed mid-upload");
    files.append = append;
    r = await cli(t, ha, "alice", "send-file", "bob", `${t.dir}/big.bin`);
    assert.equal(r.out, `sent big.bin ${big.length} ${bigSum}`, r.err);
    assert.equal(
      files.list("alice").filter((f) => f.state !== "done").length,
      1,
      "the same transfer continued",
    );
    assert.ok(t.lines.filter((l) => l.includes("file.create")).length === 2, "no second upload was created");

    // kill -9 the receiver mid-download (reads made slow), run it again.
    const read = files.read.bind(files);
    files.read = async (f, off, len) => (await slow(40), await read(f, off, len));
    const receiver = spawnCli(t, hb, "bob", "receive", "--from", "alice", "--out", down);
    await eventually(
      async () => {
        try {
          return (await Deno.stat(`${down}/big.bin.part`)).size > 1024 * 1024;
        } catch {
          return false;
        }
      },
      20_000,
      "download",
    );
    await kill9(receiver);
    const part = (await Deno.stat(`${down}/big.bin.part`)).size;
    assert.ok(part < big.length, "killed mid-download");
    let fetched = 0; // what the second run downloads: only what the .part lacks
    files.read = async (f, off, len) => {
      const got = await read(f, off, len);
      fetched += got.length;
      return got;
    };
    r = await cli(t, hb, "bob", "receive", "--from", "alice", "--out", down);
    assert.ok(fetched < big.length - part + 512 * 1024, `fetched ${fetched} with ${part} already saved`);
    assert.equal(r.out, `saved ${down}/big.bin ${big.length} ${bigSum}`, r.err);
    assert.equal(await sha256Hex(await Deno.readFile(`${down}/big.bin`)), bigSum);
    await assert.rejects(Deno.stat(`${down}/big.bin.part`));
  } finally {
    await t.stop();
  }
});

test("files: names with traversal, separators, control characters and reserved names are saved safely", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await a.client.sync();
    await b.client.sync();
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    const src = `${t.dir}/payload.txt`;
    await Deno.writeTextFile(src, "x");
    const st = await Deno.stat(src);
    const evil: [string, string][] = [
      ["../../x", "x"],
      ["/etc/passwd", "passwd"],
      ["..\\..\\win.ini", "win.ini"],
      ["..", "file"],
      ["a\x00b\x1b[31mc\u202e.txt", "a_b_[31mc_.txt"],
      ["CON.txt", "_CON.txt"],
      ["x".repeat(10_000) + ".txt", "x".repeat(196) + ".txt"],
    ];
    const down = `${t.dir}/down`;
    // Where a traversal would land; one that exists already (/tmp/x of another program) is not checked.
    const outside = [`${down}/../../x`, `${down}/../x`, `${t.dir}/win.ini`].map((p) => resolve(p));
    const fresh: string[] = [];
    for (const p of outside) if (!(await Deno.lstat(p).then(() => true, () => false))) fresh.push(p);
    for (const [name, want] of evil) {
      // A hostile sender offers any name: forge it in alice's own record before she sends.
      const rec: OutRecord = {
        fid: crypto.randomUUID().replaceAll("-", ""),
        to: "bob",
        path: await Deno.realPath(src),
        name,
        size: 1,
        mtime: st.mtime!.getTime(),
        sha256: await sha256Hex("x"),
        key: toBase64(crypto.getRandomValues(new Uint8Array(32))),
        salt: toBase64(crypto.getRandomValues(new Uint8Array(64))),
        at: 0,
        state: "uploading",
      };
      await fa.ops.update((b) => ({ ...b, out: [rec] }));
      const s = await fa.send("bob", src);
      assert.equal(s.fid, rec.fid);
      const offer = (await eventually(async () => (await fb.incoming()).find((r) => r.fid === s.fid)))!;
      assert.equal(offer.name, name);
      const got = await fb.accept(offer, down);
      assert.equal(got.path, `${down}/${want}`, JSON.stringify(name));
      await Deno.remove(got.path);
    }
    for (const p of fresh) await assert.rejects(Deno.lstat(p), p);
    assert.deepEqual([...Deno.readDirSync(down)], []);
  } finally {
    await t.stop();
  }
});

test("files: a file whose chunks verify but whose SHA-256 differs from the offer is not saved", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    await a.client.sync();
    await b.client.sync();
    const fa = FileTransfers.of(a.client), fb = FileTransfers.of(b.client);
    const src = `${t.dir}/doc.txt`;
    await Deno.writeTextFile(src, "real content");
    const st = await Deno.stat(src);
    const rec: OutRecord = {
      fid: "lyingsender01",
      to: "bob",
      path: await Deno.realPath(src),
      name: "doc.txt",
      size: st.size,
      mtime: st.mtime!.getTime(),
      sha256: await sha256Hex("other content"),
      key: toBase64(crypto.getRandomValues(new Uint8Array(32))),
      salt: toBase64(crypto.getRandomValues(new Uint8Array(64))),
      at: 0,
      state: "uploading",
    };
    await fa.ops.update((b) => ({ ...b, out: [rec] }));
    await fa.send("bob", src);
    const offer = (await eventually(async () => (await fb.incoming()).find((r) => r.fid === rec.fid)))!;
    await assert.rejects(fb.accept(offer, `${t.dir}/down`), /does not match the SHA-256/);
    assert.deepEqual([...Deno.readDirSync(`${t.dir}/down`)], [], "neither the file nor its .part is left");
    assert.equal((await fb.incoming())[0]!.state, "failed");
  } finally {
    await t.stop();
  }
});

/** `parley ARGV` in this process as `user` (tests/helpers.ts scriptedCli), output as lines. */
const inCli = (t: TestServer, user: string, ...argv: string[]) =>
  scriptedCli(t, user, argv).then((r) => ({ code: r.code, out: r.lines, err: r.err }));

/** Alice offers `src` to bob under any `name` (a hostile sender forges its own record). */
async function offerAs(fa: FileTransfers, src: string, name: string): Promise<string> {
  const st = await Deno.stat(src);
  const data = await Deno.readFile(src);
  const rec: OutRecord = {
    fid: crypto.randomUUID().replaceAll("-", ""),
    to: "bob",
    path: await Deno.realPath(src),
    name,
    size: st.size,
    mtime: st.mtime!.getTime(),
    sha256: await sha256Hex(data),
    key: toBase64(crypto.getRandomValues(new Uint8Array(32))),
    salt: toBase64(crypto.getRandomValues(new Uint8Array(64))),
    at: 0,
    state: "uploading",
  };
  await fa.ops.update((b) => ({ ...b, out: [...b.out, rec] }));
  return (await fa.send("bob", src)).fid;
}

test("files and receive print one line per file: a name holding a newline cannot forge a line", async () => {
  const t = await startTestServer();
  try {
    assert.equal((await inCli(t, "bob", "register")).code, 0);
    const a = await t.e2eClient("alice");
    const fa = FileTransfers.of(a.client);
    const src = `${t.dir}/x.txt`;
    await Deno.writeTextFile(src, "x");
    const forged = "a.txt\nin  0000000000000000  from admin  1  offered  trusted.pdf\r\x1b[2K";
    const fid = await offerAs(fa, src, forged);
    const files = await inCli(t, "bob", "files");
    assert.equal(files.code, 0, files.err);
    assert.equal(files.out.length, 1, JSON.stringify(files.out));
    assert.equal(files.out.join("\n").split("\n").length, 1, JSON.stringify(files.out));
    assert.equal(files.out[0], `in  ${fid}  from alice  1  offered  ${sanitize(forged)}`);
    assert.match(files.out[0]!, /a\.txt\^Jin {2}0{16}/);
    const got = await inCli(t, "bob", "receive", "--from", "alice", "--out", `${t.dir}/down`);
    assert.equal(got.code, 0, got.err);
    assert.equal(got.out.join("\n").split("\n").length, 1, JSON.stringify(got.out));
    assert.match(got.out[0]!, /^saved .+ 1 [0-9a-f]{64}$/);
  } finally {
    await t.stop();
  }
});

test("receive takes files from verified contacts or --from only; --from-anyone through the relay only; --max-size", async () => {
  const t = await startTestServer();
  const files = t.srv.files;
  const append = files.append.bind(files);
  try {
    assert.equal((await inCli(t, "bob", "register")).code, 0);
    const a = await t.e2eClient("alice");
    await a.client.sync();
    const fa = FileTransfers.of(a.client);
    const down = `${t.dir}/down`;
    const small = `${t.dir}/small.txt`;
    await Deno.writeTextFile(small, "y".repeat(2048));
    await fa.send("bob", small);
    // Anyone with an account can offer: not taken from a sender who is not a verified contact.
    let r = await inCli(t, "bob", "receive", "--out", down);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out, []);
    assert.match(r.err, /left small\.txt from alice offered: alice is not a verified contact/);
    assert.match((await inCli(t, "bob", "files")).out[0]!, /offered {2}small\.txt$/);
    r = await inCli(t, "bob", "receive", "--from-anyone", "--max-size", "1K", "--out", down);
    assert.deepEqual(r.out, []);
    assert.match(r.err, /small\.txt from alice offered: 2\.0 KiB is over the size limit \(1\.0 KiB\)/);
    assert.equal((await inCli(t, "bob", "receive", "--from", "alice", "--from-anyone")).code, 2);
    assert.equal((await inCli(t, "bob", "receive", "--max-size", "lots")).code, 2);
    r = await inCli(t, "bob", "receive", "--from", "alice", "--out", down);
    assert.equal(r.out.length, 1, r.err);
    assert.match(r.out[0]!, /^saved .*small\.txt 2048 /);

    // While alice still uploads, bob's receive may open the direct path (which tells her his address
    // and a port): not for --from-anyone, only for the sender named by --from (or a verified one).
    files.append = async (f, body) => (await slow(100), await append(f, body));
    const big = `${t.dir}/big.bin`;
    await Deno.writeFile(big, new Uint8Array(16 << 20).fill(3));
    for (const [flag, via] of [["--from-anyone", "relay"], ["--from=alice", "direct"]]) {
      const recv = inCli(t, "bob", "receive", flag!, "--out", down, "--timeout", "60");
      const sent = await fa.send("bob", big);
      const got = await recv;
      assert.equal(got.out.length, 1, got.err);
      assert.match(got.out[0]!, /^saved .*big.* 16777216 /);
      assert.equal(sent.via, via, flag);
    }
    files.append = append;
    // A verified contact's file is taken without flags.
    assert.equal((await inCli(t, "bob", "fingerprint", "alice")).code, 0); // the number compared
    assert.equal((await inCli(t, "bob", "verify", "alice")).code, 0);
    await fa.send("bob", small);
    r = await inCli(t, "bob", "receive", "--out", down);
    assert.equal(r.out.length, 1, r.err);
    assert.match(r.out[0]!, /^saved .*small \(1\)\.txt 2048 /);
  } finally {
    files.append = append;
    await t.stop();
  }
});

test("scripted send-file --direct and receive go straight 10 times out of 10 beside another client of the sender's folder", async () => {
  const t = await startTestServer();
  try {
    for (const u of ["alice", "bob"]) assert.equal((await inCli(t, u, "register")).code, 0);
    // The sender's full-screen client, say: the same folder, connected first, opening what arrives.
    const tui = await t.e2eClient("alice", { register: false, home: `${t.dir}/cli-alice` });
    await tui.client.sync();
    const src = `${t.dir}/d.bin`;
    for (let i = 0; i < 10; i++) {
      await Deno.writeFile(src, new Uint8Array(3000 + i).fill(i));
      const [s, r] = await Promise.all([
        inCli(t, "alice", "send-file", "bob", src, "--direct", "--wait", "20"),
        inCli(t, "bob", "receive", "--from", "alice", "--out", `${t.dir}/down`, "--timeout", "20"),
      ]);
      assert.equal(s.code, 0, `try ${i + 1}: ${s.err}`);
      assert.match(s.err, /waiting up to 20 s for bob to accept/);
      assert.match(s.err, /d\.bin went straight to bob/, `try ${i + 1}`);
      assert.equal(r.out.length, 1, `try ${i + 1}: ${r.err}`);
    }
  } finally {
    await t.stop();
  }
});

test("scripted files: send-file '#room' uploads once; bob and carol each receive it with the same SHA-256", async () => {
  const t = await startTestServer();
  const [ha, hb, hc] = [`${t.dir}/home-a`, `${t.dir}/home-b`, `${t.dir}/home-c`];
  try {
    for (const [h, u] of [[ha, "alice"], [hb, "bob"], [hc, "carol"]] as const) {
      assert.equal((await cli(t, h, u, "register")).code, 0);
    }
    assert.equal((await cli(t, ha, "alice", "room", "create", "team", "bob", "carol")).code, 0);
    const data = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);
    await Deno.writeFile(`${t.dir}/plan.bin`, data);
    const sum = await sha256Hex(data);
    let r = await cli(t, ha, "alice", "send-file", "#team", `${t.dir}/plan.bin`);
    assert.equal(r.out, `sent plan.bin 200000 ${sum}`, r.err);
    assert.equal(t.srv.files.list("alice").length, 1, "one upload for the room");
    r = await cli(t, ha, "alice", "send-file", "#team", `${t.dir}/plan.bin`, "--direct");
    assert.equal(r.code, 2, "a room's file goes through the server");
    for (const [h, u] of [[hb, "bob"], [hc, "carol"]] as const) {
      r = await cli(t, h, u, "receive", "--from", "alice", "--out", `${t.dir}/down-${u}`);
      assert.equal(r.out, `saved ${t.dir}/down-${u}/plan.bin 200000 ${sum}`, r.err);
      assert.deepEqual(await Deno.readFile(`${t.dir}/down-${u}/plan.bin`), data);
    }
    assert.equal(t.srv.files.list("alice")[0]?.state, "done");
  } finally {
    await t.stop();
  }
});

test("receive: a file where the folder should be is said at once; a failed offer is tried once a run and stays offered", async () => {
  const t = await startTestServer();
  try {
    assert.equal((await inCli(t, "bob", "register")).code, 0);
    const a = await t.e2eClient("alice");
    await a.client.sync();
    const small = `${t.dir}/small.txt`;
    await Deno.writeTextFile(small, "z".repeat(300));
    await FileTransfers.of(a.client).send("bob", small);
    const started = Date.now();
    let r = await inCli(t, "bob", "receive", "--from", "alice", "--out", small, "--timeout", "60");
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /Cannot save into .*small\.txt: it is a file, not a folder/);
    assert.ok(Date.now() - started < 30_000, "said before any wait");
    // Under a file: seen only when saving. Said once (it looped for good, at full CPU), the offer kept.
    r = await inCli(t, "bob", "receive", "--from", "alice", "--out", `${small}/sub`);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.err.split("\n").filter((l) => /Cannot save into/.test(l)).length, 1, r.err);
    assert.match(r.err.split("\n").at(-1)!, /1 file not saved/);
    assert.match((await inCli(t, "bob", "files")).out[0]!, /offered {2}small\.txt$/);
    r = await inCli(t, "bob", "receive", "--from", "alice", "--out", `${t.dir}/down`);
    assert.match(r.out[0]!, /^saved .*small\.txt 300 /, r.err);
  } finally {
    await t.stop();
  }
});
