/**
 * Issue 69 S1, the shared files folder as the attacker's: whoever can write into `--files-dir` plants
 * a sidecar naming a user and `<fid>.bin` as a link to a file the server can read (its TLS key, the
 * cluster key). `file.get` must refuse it (no byte of the secret), a link swapped in after the file
 * was made is refused at open (file_meta.ts `openRegularSync`: device and inode of the handle), and
 * a new file's name held by a planted link is made anew, never written through.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { NotRegularFile, openRegularSync } from "../lib/server/file_meta.ts";

const code = (p: Promise<unknown>) => p.then(() => "ok", (e: Error & { code?: string }) => e.code);
const SECRET = "-----BEGIN PRIVATE KEY-----\nthe server's own secret\n-----END PRIVATE KEY-----\n";

Deno.test("files: a planted sidecar and a link to a secret file in the files folder are not served (issue 69 S1)", async () => {
  const t = await startTestServer();
  try {
    const bob = await t.client("bob");
    await t.client("alice");
    const secret = `${t.dir}/secret-key.pem`;
    await Deno.writeTextFile(secret, SECRET);
    const dir = t.srv.files.dir;
    const fid = "planted-0001";
    const now = Date.now();
    const meta = {
      fid,
      from: "alice",
      to: "bob",
      size: SECRET.length,
      created: now,
      expires: now + 3_600_000,
    };
    await Deno.writeTextFile(`${dir}/${fid}.json`, JSON.stringify({ ...meta, state: "ready" }));
    await Deno.symlink(secret, `${dir}/${fid}.bin`);
    const got = await bob.conn.request("file.get", { fid, off: 0, len: 4096 }).then(
      (r) => new TextDecoder().decode(r.body),
      (e: Error & { code?: string }) => e.code,
    );
    assert.ok(!String(got).includes("secret"), `the secret leaked: ${JSON.stringify(got)}`);
    assert.equal(got, "no_such_file");

    // A sidecar that is itself a link to one elsewhere is not read either.
    const fid2 = "planted-0002";
    await Deno.writeTextFile(
      `${t.dir}/elsewhere.json`,
      JSON.stringify({ ...meta, fid: fid2, state: "ready" }),
    );
    await Deno.writeTextFile(`${dir}/${fid2}.bin`, "x".repeat(SECRET.length));
    await Deno.symlink(`${t.dir}/elsewhere.json`, `${dir}/${fid2}.json`);
    assert.equal(await code(bob.conn.request("file.get", { fid: fid2, off: 0, len: 4096 })), "no_such_file");
  } finally {
    await t.stop();
  }
});

Deno.test("files: a link planted under a new file's name is replaced, not written through (issue 69 S1)", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    const victim = `${t.dir}/victim.txt`;
    await Deno.writeTextFile(victim, "keep me");
    const fid = "planted-0003";
    await Deno.symlink(victim, `${t.srv.files.dir}/${fid}.bin`);
    assert.equal(
      await code(alice.conn.request("file.put", { fid, to: "bob", size: 10, off: 0 }, new Uint8Array(10))),
      "ok",
    );
    assert.equal(await Deno.readTextFile(victim), "keep me");
    assert.equal((await Deno.lstat(`${t.srv.files.dir}/${fid}.bin`)).isSymlink, false);
  } finally {
    await t.stop();
  }
});

Deno.test("file meta: openRegularSync refuses a link, and a handle that is not the file lstat saw", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-regular-" });
  try {
    await Deno.writeTextFile(`${dir}/secret`, SECRET);
    await Deno.writeTextFile(`${dir}/plain.bin`, "plain");
    await Deno.symlink(`${dir}/secret`, `${dir}/link.bin`);
    assert.throws(() => openRegularSync(`${dir}/link.bin`, { read: true }), NotRegularFile);
    assert.throws(() => openRegularSync(dir, { read: true }), NotRegularFile);
    openRegularSync(`${dir}/plain.bin`, { read: true }).close();
    // The swap between lstat and open: lstat sees the regular file, open then follows a link.
    const lstat = Deno.lstatSync;
    Deno.lstatSync = (p: string | URL) => {
      const st = lstat(p);
      Deno.removeSync(p);
      Deno.symlinkSync(`${dir}/secret`, p);
      return st;
    };
    try {
      assert.throws(() => openRegularSync(`${dir}/plain.bin`, { read: true }), NotRegularFile);
    } finally {
      Deno.lstatSync = lstat;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
