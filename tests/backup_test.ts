/**
 * `parley-server backup DEST` while the server serves, and `restore SRC` (issue 38.1; lib/server/backup.ts):
 * a backup taken by a second process during a 2,000-message send storm restores to a server that has
 * every message acknowledged before the backup began (count and content, read by a client) and starts
 * with the same certificate fingerprint; restore refuses while a server uses the data folder, and
 * refuses a backup whose certificate is not its key's.
 */
import assert from "node:assert/strict";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { dbPathIn } from "../lib/server/data_dir.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { runProgram, spawnServerProcess, testKdf } from "./helpers.ts";

const ARGS = ["--msg-rate", "0", "--login-rate", "0", "--register-rate", "0", "--register-rate-total", "0"];
const STORM = 2000;
const IN_FLIGHT = 16;

async function login(port: number, cert: string, user: string, register: boolean): Promise<ChatClient> {
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password: `pw-${user}-secret`,
    register,
    kdf: testKdf,
  });
}

Deno.test("backup during a 2,000-message send storm restores every acknowledged message, same fingerprint", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-backup-" });
  const [data, dest, restored] = [`${root}/data`, `${root}/backup`, `${root}/restored`];
  const srv = await spawnServerProcess(data, { args: ARGS });
  const alice = await login(srv.port, srv.cert, "alice", true);
  const bob = await login(srv.port, srv.cert, "bob", true);
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
      const reader = await login(again.port, again.cert, "bob", false);
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
