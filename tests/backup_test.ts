/**
 * `parley-server backup DEST` while the server serves, and `restore SRC` (issue 38.1; lib/server/backup.ts):
 * a backup taken by a second process during a 2,000-message send storm restores to a server that has
 * every message acknowledged before the backup began (count and content, read by a client) and starts
 * with the same certificate fingerprint; restore refuses while a server uses the data folder, and
 * refuses a backup whose certificate is not its key's. Issue 68 item 11: restore verifies the backup
 * read-only against its manifest first — a flipped byte, a symlink, a fifo, an unexpected or missing
 * file is refused by name, and the backup folder is left byte for byte as it was.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import { backup } from "../lib/server/backup.ts";
import { restore } from "../lib/server/restore.ts";
import { dbPathIn, holdServing, takeServing } from "../lib/server/data_dir.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { encodeHeader, RecordWriter } from "../lib/server/store/segment_record_testing.ts";
import { loginSpawned, runProgram, spawnServerProcess } from "./helpers.ts";

const ARGS = ["--msg-rate", "0", "--login-rate", "0", "--register-rate", "0", "--register-rate-total", "0"];
const STORM = 2000;
const IN_FLIGHT = 16;

Deno.test("backup during a 2,000-message send storm restores every acknowledged message, same fingerprint", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-" });
  const [data, dest, restored] = [`${root}/data`, `${root}/backup`, `${root}/restored`];
  const srv = await spawnServerProcess(data, { args: ARGS });
  const alice = await loginSpawned(srv.port, srv.cert, "alice", true);
  const bob = await loginSpawned(srv.port, srv.cert, "bob", true);
  await bob.close();
  const acked = new Set<number>();
  let backupRun: Promise<{ code: number; out: string; err: string }> | null = null;
  let ackedAtStart: number[] = [];
  let ackedAtEnd = 0;
  try {
    // The storm: IN_FLIGHT sends at a time; the backup starts (another process) once 200 are acknowledged.
    let next = 0;
    const worker = async () => {
      while (next < STORM) {
        const i = next++;
        await alice.send({ kind: "user", name: "bob" }, `storm ${i}`);
        acked.add(i);
        if (acked.size === 200 && !backupRun) {
          ackedAtStart = [...acked];
          backupRun = runProgram("server.ts", ["backup", dest, "--data", data]).then((r) => {
            ackedAtEnd = acked.size;
            return r;
          });
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const b = await backupRun!;
    assert.equal(b.code, 0, b.err);
    assert.match(
      b.out,
      /database integrity ok, message log ok \(\d+ message\(s\)\), certificate matches its key; fingerprint SHA256:/,
    );
    console.log(`backup started after ${ackedAtStart.length} acks, ended after ${ackedAtEnd} of ${STORM}`);
  } finally {
    await alice.close();
    await srv.stop();
  }
  try {
    const r = await runProgram("server.ts", ["restore", dest, "--data", restored]);
    assert.equal(r.code, 0, r.err);
    const again = await spawnServerProcess(restored, { args: ARGS });
    try {
      assert.equal(again.cert, srv.cert, "the restored server presents the same certificate (fingerprint)");
      const reader = await loginSpawned(again.port, again.cert, "bob", false);
      try {
        const got = new Map<number, string>();
        for (let round = 0; round < 100; round++) {
          const batch = await reader.sync();
          if (!batch.length) break;
          for (const m of batch) got.set(Number(m.text.replace("storm ", "")), m.text);
          await reader.ack(batch);
        }
        for (const i of ackedAtStart) {
          assert.equal(got.get(i), `storm ${i}`, `message ${i} acknowledged before`);
        }
        for (const [i, text] of got) assert.equal(text, `storm ${i}`);
        assert.ok(got.size >= ackedAtStart.length && got.size <= STORM, String(got.size));
        console.log(`restored server has ${got.size} of the ${STORM} messages`);
      } finally {
        await reader.close();
      }
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore refuses while a server uses the data folder, and a backup whose certificate is not its key's", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-restore-" });
  const [data, dest] = [`${root}/data`, `${root}/backup`];
  try {
    const srv = await spawnServerProcess(data);
    try {
      const b = await runProgram("server.ts", ["backup", dest, "--data", data]);
      assert.equal(b.code, 0, b.err);
      const busy = await runProgram("server.ts", ["restore", dest, "--data", data]);
      assert.equal(busy.code, 1);
      assert.match(busy.err, /a server is using .*parley\.db: stop it first/);
      const full = await runProgram("server.ts", ["backup", dest, "--data", data]);
      assert.match(full.err, /is not empty/);
    } finally {
      await srv.stop();
    }
    // Stopped: restore puts it back, and what the folder held is kept aside.
    const ok = await runProgram("server.ts", ["restore", dest, "--data", data]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^Moved what .* held \(parley\.db.*\) to .*before-restore-/m);
    // Another server's key beside this certificate: refused before anything is touched.
    const other = `${root}/other`;
    const o = await spawnServerProcess(other);
    await o.stop();
    await Deno.copyFile(`${other}/key.pem`, `${dest}/key.pem`);
    const bad = await runProgram("server.ts", ["restore", dest, "--data", `${root}/fresh`]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /the certificate in .* does not match its key\.pem/);
    await assert.rejects(Deno.stat(`${root}/fresh/parley.db`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("backup and restore carry the relayed files of --files-dir (metadata with its ciphertext)", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-files-" });
  try {
    const [data, files, dest] = [`${root}/data`, `${root}/disk2/files`, `${root}/backup`];
    await Deno.mkdir(data);
    await new SqliteStore(dbPathIn(data)).close();
    await Deno.mkdir(files, { recursive: true });
    await Deno.writeTextFile(`${files}/f1.json`, '{"fid":"f1"}');
    await Deno.writeFile(`${files}/f1.bin`, new Uint8Array([1, 2, 3]));
    const b = await runProgram("server.ts", ["backup", dest, "--data", data, "--files-dir", files]);
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /Copied no key files and 1 relayed file\(s\)/);
    const [data2, files2] = [`${root}/data2`, `${root}/disk3/files`];
    const r = await runProgram("server.ts", ["restore", dest, "--data", data2, "--files-dir", files2]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await Deno.readFile(`${files2}/f1.bin`), new Uint8Array([1, 2, 3]));
    assert.equal(await Deno.readTextFile(`${files2}/f1.json`), '{"fid":"f1"}');
    // Again: the --files-dir there (maybe another disk) is kept beside itself, not moved across disks.
    const again = await runProgram("server.ts", ["restore", dest, "--data", data2, "--files-dir", files2]);
    assert.equal(again.code, 0, again.err);
    const kept = again.out.match(/^Moved \S+ to (\S+\.before-restore-\S+)$/m)?.[1];
    assert.ok(kept?.startsWith(`${files2}.`), again.out);
    assert.deepEqual(await Deno.readFile(`${kept}/f1.bin`), new Uint8Array([1, 2, 3]));
    // Without --files-dir they go to the data folder's own files folder.
    const r3 = await runProgram("server.ts", ["restore", dest, "--data", `${root}/data3`]);
    assert.equal(r3.code, 0, r3.err);
    assert.deepEqual(await Deno.readFile(`${root}/data3/files/f1.bin`), new Uint8Array([1, 2, 3]));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("with --store postgres:// the backup says to use pg_dump and copies the rest", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-pg-" });
  try {
    const [data, dest] = [`${root}/data`, `${root}/backup`];
    const srv = await spawnServerProcess(data); // makes cert.pem and key.pem
    await srv.stop();
    await Deno.remove(dbPathIn(data));
    await Deno.writeTextFile(`${data}/cluster.key`, "0".repeat(64));
    const store = ["--store", "postgres://parley@127.0.0.1:1/parley"]; // never connected to
    const b = await runProgram("server.ts", ["backup", dest, "--data", data, ...store]);
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /back it up with pg_dump/);
    assert.match(b.out, /Copied cert\.pem, key\.pem, cluster\.key and 0 relayed file\(s\)/);
    await assert.rejects(Deno.stat(dbPathIn(dest)), Deno.errors.NotFound);
    const r = await runProgram("server.ts", ["restore", dest, "--data", `${root}/data2`, ...store]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /put it back with pg_restore/);
    assert.equal(await Deno.readTextFile(`${root}/data2/cert.pem`), srv.cert);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// Issue 68 item 11: a backup is checked read-only against its manifest (sizes, SHA-256, counts) before
// restore touches anything; a flipped byte or a symlink anywhere is refused, named, and the backup
// folder stays byte for byte as it was. In process (lib/server/backup.ts), on a folder made by the store.

const SIX = 6, OLD = 2;

/**
 * A data folder as a server of 0.20 leaves it before its first start on this version: 2 users, a room,
 * SIX messages in the database and OLD more in an older version's message log (`parley.db-messages/`,
 * imported at the next start), keys, a relayed file.
 */
async function dataFolder(root: string): Promise<{ data: string; files: string }> {
  const [data, files] = [`${root}/data`, `${root}/data/files`];
  await Deno.mkdir(files, { recursive: true });
  const store = new SqliteStore(dbPathIn(data));
  for (const name of ["alice", "bob"]) {
    await store.createUser({ name, hash: "h", role: "user", createdAt: 1 });
  }
  await store.createRoom({ name: "ops", createdBy: "alice", createdAt: 1, members: [] });
  for (let i = 0; i < SIX; i++) {
    const m = { mid: `m${i}`, sender: "alice", kind: "user" as const, target: "bob", conv: "d:alice:bob" };
    await store.appendMessages([{ ...m, ts: i, body: new TextEncoder().encode(`body ${i} `.repeat(40)) }]);
  }
  await store.close();
  const w = new RecordWriter();
  for (let i = 0; i < OLD; i++) {
    const seq = SIX + 1 + i, m = { mid: `old${seq}`, sender: "bob", kind: "user" as const, target: "alice" };
    w.entry({
      ...m,
      seq,
      conv: "d:alice:bob",
      ts: seq,
      body: new TextEncoder().encode(`old ${seq} `.repeat(40)),
    });
  }
  await Deno.mkdir(`${data}/parley.db-messages`);
  await Deno.writeFile(
    `${data}/parley.db-messages/0000000000000007.log`,
    new Uint8Array([...encodeHeader(SIX), ...w.bytes]),
  );
  const pair = await makeSelfSignedCert([]);
  await Deno.writeTextFile(`${data}/cert.pem`, pair.cert);
  await Deno.writeTextFile(`${data}/key.pem`, pair.key);
  await Deno.writeTextFile(`${files}/f1.json`, '{"fid":"f1"}');
  await Deno.writeFile(`${files}/f1.bin`, new Uint8Array(3000).fill(7));
  return { data, files };
}

/** Every entry under `dir`: its kind, and its bytes' SHA-256 (a link: its target), by path. */
async function folderPrint(
  dir: string,
  rel = "",
  out: Record<string, string> = {},
): Promise<Record<string, string>> {
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    const i = await Deno.lstat(`${dir}/${p}`);
    if (i.isSymlink) out[p] = `link ${await Deno.readLink(`${dir}/${p}`)}`;
    else if (i.isDirectory) (out[p] = "dir", await folderPrint(dir, p, out));
    else if (i.isFile) out[p] = `file ${await sha256Hex(await Deno.readFile(`${dir}/${p}`))}`;
    else out[p] = "other";
  }
  return out;
}

const opts = (data: string, files = `${data}/files`) => ({
  dataDir: data,
  filesDir: files,
  postgres: false,
  now: 1,
});

async function takeBackup(root: string): Promise<string> {
  const { data, files } = await dataFolder(root);
  const dest = `${root}/backup`;
  const out = await backup(dest, { ...opts(data, files), version: "test" });
  assert.match(out.join("\n"), /message log ok \(6 message\(s\)\)/);
  assert.match(
    out.join("\n"),
    /^Listed \d+ file\(s\) with their sizes and SHA-256 in .*backup\.json; 2 user\(s\), 1 room\(s\), 8 message\(s\)$/m,
  );
  return dest;
}

const segmentOf = async (dest: string) => {
  for await (const e of Deno.readDir(`${dest}/parley.db-messages`)) {
    if (e.name.endsWith(".log")) return e.name;
  }
  throw new Error("no segment");
};

Deno.test("restore: a flipped byte anywhere in a backup is refused naming the file, and the backup is left as it was", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-flip-" });
  try {
    const dest = await takeBackup(root);
    const seg = `parley.db-messages/${await segmentOf(dest)}`;
    for (
      const [file, at] of [[seg, 0.6], ["parley.db", 0.5], ["files/f1.bin", 0.5], ["key.pem", 0.5]] as const
    ) {
      const path = `${dest}/${file}`;
      const good = await Deno.readFile(path);
      const bad = good.slice();
      const i = Math.floor(bad.length * at);
      bad[i] = bad[i]! ^ (file === "key.pem" ? 0x01 : 0x20); // one byte, the length kept
      await Deno.writeFile(path, bad);
      const before = await folderPrint(dest);
      const target = `${root}/restored-${file.replace(/\W/g, "-")}`;
      await assert.rejects(
        restore(dest, opts(target)),
        (e: Error) =>
          file === "key.pem" // the pair is checked first: its sentence names key.pem
            ? /the certificate in .* does not match its key\.pem/.test(e.message)
            : e.message.includes(`${dest}/${file} does not match its SHA-256 in backup.json`),
        file,
      );
      assert.deepEqual(await folderPrint(dest), before, `${file}: the backup is unchanged`);
      await assert.rejects(Deno.stat(dbPathIn(target)), Deno.errors.NotFound, "nothing restored");
      await Deno.writeFile(path, good);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore: a symlink, a fifo, an unexpected or a missing file in a backup is refused by name; the backup unchanged", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-link-" });
  try {
    const dest = await takeBackup(root);
    const name = await segmentOf(dest);
    const seg = `${dest}/parley.db-messages/${name}`;
    // The segment moved out and linked back in: the same bytes, but not a file of the backup's own.
    await Deno.rename(seg, `${root}/outside.log`);
    await Deno.symlink(`${root}/outside.log`, seg);
    const refused = async (want: RegExp) => {
      const before = await folderPrint(dest);
      await assert.rejects(restore(dest, opts(`${root}/restored`)), want);
      assert.deepEqual(await folderPrint(dest), before, "the backup is unchanged");
      await assert.rejects(Deno.stat(dbPathIn(`${root}/restored`)), Deno.errors.NotFound);
    };
    await refused(
      new RegExp(`${seg} is a symbolic link: a backup holds only regular files and folders; refused`),
    );
    await Deno.remove(seg);
    await Deno.rename(`${root}/outside.log`, seg);
    await Deno.symlink("/etc/passwd", `${dest}/files/f2.bin`);
    await refused(/files\/f2\.bin is a symbolic link/);
    await Deno.remove(`${dest}/files/f2.bin`);
    if (Deno.build.os === "linux") {
      const fifo = await new Deno.Command("mkfifo", { args: [`${dest}/files/pipe`] }).output();
      assert.ok(fifo.success);
      await refused(/files\/pipe is a named pipe \(fifo\)/);
      await Deno.remove(`${dest}/files/pipe`);
    }
    await Deno.writeTextFile(`${dest}/files/extra.json`, "{}");
    await refused(/files\/extra\.json is not in backup\.json: the backup did not write it; refused/);
    await Deno.remove(`${dest}/files/extra.json`);
    await Deno.rename(`${dest}/files/f1.bin`, `${root}/f1.bin`);
    await refused(/files\/f1\.bin is missing \(backup\.json lists it\); refused/);
    await Deno.rename(`${root}/f1.bin`, `${dest}/files/f1.bin`);
    // Put back as it was: it restores.
    const r = await restore(dest, opts(`${root}/restored`));
    assert.match(
      r.join("\n"),
      /Checked the backup in .* \(read-only\): \d+ file\(s\) match their sizes and SHA-256/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore: a good backup restores every message and the backup stays byte for byte as it was", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-good-" });
  try {
    const dest = await takeBackup(root);
    const before = await folderPrint(dest);
    const m = JSON.parse(await Deno.readTextFile(`${dest}/backup.json`));
    assert.deepEqual(m.counts, { users: 2, rooms: 1, messages: SIX + OLD, messageLog: OLD });
    assert.deepEqual(
      m.contents.map((e: { path: string }) => e.path).filter((p: string) =>
        !p.startsWith("parley.db-messages/")
      ),
      ["cert.pem", "files/f1.bin", "files/f1.json", "key.pem", "parley.db"],
    );
    for (const e of m.contents) assert.equal(`file ${e.sha256}`, before[e.path], e.path);
    const target = `${root}/restored`;
    const out = (await restore(dest, opts(target))).join("\n");
    assert.match(
      out,
      /^Checked the backup in .* \(read-only\): \d+ file\(s\) match their sizes and SHA-256, database integrity ok \(2 user\(s\), 1 room\(s\), 8 message\(s\)\), certificate matches its key and the manifest's fingerprint$/m,
    );
    assert.match(
      out,
      /Restored the backup of .*: cert\.pem, key\.pem, 1 relayed file\(s\); \d+ file\(s\) copied as backed up, database integrity ok, message log ok \(6 message\(s\)\), older message log ok \(2 message\(s\), its segments as backed up/,
    );
    assert.doesNotMatch(out, /Warning/);
    assert.deepEqual(await folderPrint(dest), before, "the backup is unchanged");
    assert.equal([...Deno.readDirSync(target)].filter((e) => e.name.startsWith(".restore-check")).length, 0);
    const store = new SqliteStore(dbPathIn(target));
    try {
      const got = await store.since(0, 100);
      assert.deepEqual(got.map((x) => x.mid), ["m0", "m1", "m2", "m3", "m4", "m5", "old7", "old8"]);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore: a backup without checksums (an older version's) is restored with a warning, after the other checks", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-old-" });
  try {
    const dest = await takeBackup(root);
    const m = JSON.parse(await Deno.readTextFile(`${dest}/backup.json`));
    delete m.contents;
    delete m.counts;
    await Deno.writeTextFile(`${dest}/backup.json`, JSON.stringify(m));
    await Deno.symlink(`${dest}/key.pem`, `${dest}/files/k`);
    await assert.rejects(
      restore(dest, opts(`${root}/r1`)),
      /files\/k is a symbolic link/,
      "kinds are still checked",
    );
    await Deno.remove(`${dest}/files/k`);
    // No hashes to catch it: a damaged database is refused by its integrity check, on a copy.
    const good = await Deno.readFile(`${dest}/parley.db`);
    const bad = good.slice();
    bad.fill(0xff, 4096 + 8, 4096 + 200); // page 2: a table's b-tree page, its cells torn
    await Deno.writeFile(`${dest}/parley.db`, bad);
    let before = await folderPrint(dest);
    await assert.rejects(restore(dest, opts(`${root}/r1`)), /the database in .*backup is damaged: /);
    assert.deepEqual(await folderPrint(dest), before, "the backup is unchanged");
    await Deno.writeFile(`${dest}/parley.db`, good);
    before = await folderPrint(dest);
    const out = (await restore(dest, opts(`${root}/r2`))).join("\n");
    assert.match(
      out,
      /^Checked the backup in .* \(read-only\): database integrity ok, certificate matches its key/m,
    );
    assert.match(out, /^Warning: .*backup\.json carries no checksums \(a backup of Parley test\)/m);
    assert.match(
      out,
      /older message log copied \(no checksums: the server checks its records when it imports it\)/,
    );
    assert.deepEqual(await folderPrint(dest), before, "the backup is unchanged");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("backup: a segment or relayed file that is a symlink in the data folder is refused by name, not skipped", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-srclink-" });
  try {
    const { data, files } = await dataFolder(root);
    const log = `${data}/parley.db-messages`;
    const name = [...Deno.readDirSync(log)].find((e) => e.name.endsWith(".log"))!.name;
    await Deno.rename(`${log}/${name}`, `${root}/moved.log`);
    await Deno.symlink(`${root}/moved.log`, `${log}/${name}`);
    await assert.rejects(
      backup(`${root}/b1`, { ...opts(data, files), version: "test" }),
      new RegExp(`${log}/${name} is a symbolic link`),
    );
    await Deno.remove(`${log}/${name}`);
    await Deno.rename(`${root}/moved.log`, `${log}/${name}`);
    await Deno.symlink(`${files}/f1.bin`, `${files}/f2.bin`);
    await assert.rejects(
      backup(`${root}/b2`, { ...opts(data, files), version: "test" }),
      /files\/f2\.bin is a symbolic link/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore (issue 69 B2, the attack): with a PostgreSQL store, restore refuses while a node serves on the shared files folder, and leaves it in place", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-restore-b2-" });
  const [data, dest, shared] = [`${root}/data`, `${root}/backup`, `${root}/shared-files`];
  try {
    const first = await spawnServerProcess(data); // makes cert.pem and key.pem
    await first.stop();
    await Deno.remove(dbPathIn(data));
    const store = ["--store", "postgres://parley@127.0.0.1:1/parley"]; // never connected to
    const b = await runProgram("server.ts", ["backup", dest, "--data", data, ...store]);
    assert.equal(b.code, 0, b.err);
    // A node serving on the shared files folder (its own store: the lock is the same whatever the store).
    await Deno.mkdir(shared);
    await Deno.writeTextFile(`${shared}/kept.txt`, "a node's file");
    const node = await spawnServerProcess(`${root}/node`, { args: ["--files-dir", shared] });
    try {
      const r = await runProgram("server.ts", [
        "restore",
        dest,
        "--data",
        `${root}/data2`,
        "--files-dir",
        shared,
        ...store,
      ]);
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.err,
        /a server is running on .*shared-files \(it holds .*serving\.lock\): stop every server/,
      );
      assert.equal(
        await Deno.readTextFile(`${shared}/kept.txt`),
        "a node's file",
        "not moved away under the node",
      );
    } finally {
      await node.stop();
    }
    const ok = await runProgram("server.ts", [
      "restore",
      dest,
      "--data",
      `${root}/data2`,
      "--files-dir",
      shared,
      ...store,
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /Moved .*shared-files to .*shared-files\.before-restore-/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serving lock (issue 69 B2): a server holds it shared beside others; a restore takes it alone, and no server starts meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-serving-" });
  try {
    const a = await holdServing([dir]), b = await holdServing([dir, dir]); // two nodes, one folder
    await assert.rejects(takeServing([dir]), /a server is running on .* \(it holds .*serving\.lock\)/);
    a.release();
    await assert.rejects(takeServing([dir]), /a server is running/, "while any one holds it");
    b.release();
    const r = await takeServing([dir, `${dir}/none`]); // a folder that is not there: nobody serves there
    await assert.rejects(holdServing([dir]), /a restore is running on .*: wait for it/);
    r.release();
    (await holdServing([dir])).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
