/**
 * A database belongs with its server's certificate key (issue 69; lib/server/cert_key.ts): the attacks
 * are another server's database started beside this certificate, and another server's backup restored
 * with this server's certificate put in it (an older manifest, without checksums, edited to match).
 * Both are refused naming both keys and `--other-server`, which accepts them; a certificate renewed
 * with the same key, and an older database with no key recorded, start as before.
 */
import assert from "node:assert/strict";
import { fingerprintPem, keyFingerprintPem } from "../lib/net/cert.ts";
import { dbPathIn } from "../lib/server/data_dir.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { runProgram, spawnServerProcess } from "./helpers.ts";

/** The certificate key the database in `dir` recorded. */
async function recorded(dir: string): Promise<string | null> {
  const s = new SqliteStore(dbPathIn(dir), { lazyMessages: true });
  try {
    return await s.certKey();
  } finally {
    await s.close();
  }
}

/** Starts a server on `dir` and stops it; its stderr when it refused to start, else null. */
async function startOnce(dir: string, args: string[] = []): Promise<string | null> {
  const s = await spawnServerProcess(dir, { args }).catch((e: Error) => e);
  if (s instanceof Error) return s.message;
  await s.stop();
  return null;
}

/** A server's data folder made by a first start. */
async function serverFolder(dir: string): Promise<void> {
  assert.equal(await startOnce(dir), null);
}

Deno.test("a start with another server's database is refused, naming both keys; --other-server records this key", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-certkey-" });
  try {
    const [a, b] = [`${root}/a`, `${root}/b`];
    await serverFolder(a);
    await serverFolder(b);
    const [keyA, keyB] = [
      await keyFingerprintPem(await Deno.readTextFile(`${a}/cert.pem`)),
      await keyFingerprintPem(await Deno.readTextFile(`${b}/cert.pem`)),
    ];
    assert.equal(await recorded(a), keyA, "the first start records its certificate key");
    // The attack: A's database beside B's certificate.
    for (const n of ["parley.db-wal", "parley.db-shm"]) await Deno.remove(`${b}/${n}`).catch(() => {});
    await Deno.copyFile(dbPathIn(a), dbPathIn(b));
    const refused = await startOnce(b);
    assert.ok(refused !== null, "a server started with another server's database");
    assert.ok(
      refused.includes(
        `this database belongs with another certificate key (recorded ${keyA}; this server's certificate key ${keyB})`,
      ),
      refused,
    );
    assert.match(refused, /--other-server/);
    assert.equal(await recorded(b), keyA, "a refused start records nothing");
    // The operator's word: this key from now on.
    assert.equal(await startOnce(b, ["--other-server"]), null);
    assert.equal(await recorded(b), keyB);
    assert.equal(await startOnce(b), null, "started again without the flag");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a certificate renewed with the same key starts; an older database without a record gets one", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-certkey-renew-" });
  try {
    const d = `${root}/d`;
    await Deno.mkdir(d);
    await new SqliteStore(dbPathIn(d)).close(); // as an older version left it: no key recorded
    assert.equal(await recorded(d), null);
    await serverFolder(d);
    const old = await Deno.readTextFile(`${d}/cert.pem`);
    assert.equal(await recorded(d), await keyFingerprintPem(old));
    const renew = new Deno.Command("openssl", {
      args: [
        "req",
        "-new",
        "-x509",
        "-key",
        `${d}/key.pem`,
        "-subj",
        "/CN=renewed",
        "-days",
        "30",
        "-out",
        `${d}/cert.pem`,
      ],
      stdout: "null",
      stderr: "piped",
    });
    const r = await renew.output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const renewed = await Deno.readTextFile(`${d}/cert.pem`);
    assert.notEqual(await fingerprintPem(renewed), await fingerprintPem(old), "a new certificate");
    assert.equal(await startOnce(d), null, "the same key: it starts");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("restore refuses another server's backup given this server's certificate, moving nothing; --other-server restores it", async () => {
  const root = await Deno.makeTempDir({ prefix: "parley-certkey-restore-" });
  try {
    const [a, b, dest] = [`${root}/a`, `${root}/b`, `${root}/backup`];
    await serverFolder(a);
    await serverFolder(b);
    const bk = await runProgram("server.ts", ["backup", dest, "--data", a]);
    assert.equal(bk.code, 0, bk.err);
    // The attack: A's backup carries B's certificate and key, its manifest edited as an older one's.
    for (const n of ["cert.pem", "key.pem"]) await Deno.copyFile(`${b}/${n}`, `${dest}/${n}`);
    const m = JSON.parse(await Deno.readTextFile(`${dest}/backup.json`));
    delete m.contents;
    delete m.counts;
    m.fingerprint = await fingerprintPem(await Deno.readTextFile(`${b}/cert.pem`));
    await Deno.writeTextFile(`${dest}/backup.json`, JSON.stringify(m));
    const before = await Deno.readFile(dbPathIn(b));
    const r = await runProgram("server.ts", ["restore", dest, "--data", b]);
    assert.equal(r.code, 1, `restored another server's database: ${r.out}`);
    const [keyA, keyB] = [
      await keyFingerprintPem(await Deno.readTextFile(`${a}/cert.pem`)),
      await keyFingerprintPem(await Deno.readTextFile(`${b}/cert.pem`)),
    ];
    assert.ok(
      r.err.includes(
        `belongs with another certificate key (recorded ${keyA}; the certificate it would be restored with has key ${keyB})`,
      ),
      r.err,
    );
    assert.match(r.err, /refused \(restore it with --other-server/);
    assert.deepEqual(await Deno.readFile(dbPathIn(b)), before, "nothing moved");
    assert.equal([...Deno.readDirSync(b)].filter((e) => e.name.startsWith("before-restore")).length, 0);
    // The operator says so: restored, and the server then starts and records B's key.
    const ok = await runProgram("server.ts", ["restore", dest, "--data", b, "--other-server"]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(
      ok.out,
      /The database belonged with another certificate key \(SHA256:[0-9A-F:]+; --other-server\)/,
    );
    assert.equal(await recorded(b), null);
    assert.equal(await startOnce(b), null);
    assert.equal(await recorded(b), keyB);
    // --tls-cert names the certificate the restored server will serve with instead of the backup's.
    const t = await runProgram("server.ts", [
      "restore",
      dest,
      "--data",
      `${root}/c`,
      "--tls-cert",
      `${b}/cert.pem`,
    ]);
    assert.equal(t.code, 1, t.out);
    const u = await runProgram("server.ts", [
      "restore",
      dest,
      "--data",
      `${root}/c`,
      "--tls-cert",
      `${a}/cert.pem`,
    ]);
    assert.equal(u.code, 0, u.err);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
