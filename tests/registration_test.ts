/**
 * Issue 33 item 4: open registration times per-account quotas must not fill the disk. Who may
 * register (`--registration open|invite|closed`, one-time invitation codes from an admin or the
 * console), registrations throttled per address and for the whole server, a free-space floor
 * (`--min-free`) checked before sends, uploads and registrations, a cap on everyone's waiting files
 * (`--files-max`), files in another folder (`--files-dir`), and fetched files no longer counted
 * against MAX_FILES_PER_USER. Each refusal has its own stable code.
 */
import assert from "node:assert/strict";
import type { Connection } from "../lib/client/session/connection.ts";
import { ManualClock, systemClock } from "../lib/common/clock.ts";
import { FileStore, MAX_FILES_PER_USER } from "../lib/server/file_store.ts";
import { runConsoleLine } from "../lib/server/console.ts";
import { freeBytes } from "../lib/server/data_dir.ts";
import { startTestServer, type TestServer } from "./helpers.ts";

const code = (p: Promise<unknown>) => p.then(() => "ok", (e) => e.code as string);

async function anon(t: TestServer): Promise<Connection> {
  const c = await t.connect();
  await c.request("hello", { v: 1, client: "t" });
  return c;
}

const register = async (t: TestServer, user: string, invite?: string) =>
  code(
    (await anon(t)).request("register", { user, password: `pw ${user} ok`, ...(invite ? { invite } : {}) }),
  );

Deno.test("--registration closed refuses every registration and every invitation code", async () => {
  const t = await startTestServer({ registration: "closed" });
  try {
    assert.equal(await register(t, "alice"), "registration_closed");
    assert.equal(await register(t, "bob", "abcde-fghij"), "registration_closed");
    assert.match(await runConsoleLine(t.srv, "/invite"), /^Error: Registration is closed/);
  } finally {
    await t.stop();
  }
});

Deno.test("--registration invite: an admin's or the console's code registers one account, once", async () => {
  const t = await startTestServer({ registration: "invite" });
  try {
    assert.equal(await register(t, "alice"), "invite_required");
    assert.equal(await register(t, "alice", "00000-00000-00000-00000"), "bad_invite");
    const said = await runConsoleLine(t.srv, "/invite");
    const first = said.match(/code ([0-9a-z-]{23})/)![1]!;
    assert.equal(await register(t, "alice", first.toUpperCase()), "ok", "case does not count");
    assert.equal(await register(t, "bob", first), "bad_invite", "used once");
    // An admin asks over the wire; a registration refused for its name keeps the code.
    await t.srv.core.store.setRole("alice", "admin");
    const a = await anon(t);
    await a.request("login", { user: "alice", password: "pw alice ok" });
    const r = await a.request("admin.invite", {});
    const second = String(r.header.invite);
    assert.ok(Number(r.header.expires) > Date.now() + 6 * 86400_000);
    assert.equal(await register(t, "alice", second), "name_taken");
    assert.equal(await register(t, "bob", second), "ok");
    const audit = await t.srv.core.store.listAudit(20);
    assert.ok(audit.some((x) => x.action === "invite" && x.actor === "alice"));
    assert.ok(audit.some((x) => x.action === "invite.used" && x.target === "bob" && x.actor === "alice"));
    // Only admins make codes.
    const b = await anon(t);
    await b.request("login", { user: "bob", password: "pw bob ok" });
    assert.equal(await code(b.request("admin.invite", {})), "forbidden");
  } finally {
    await t.stop();
  }
});

Deno.test("registrations are throttled per address and for the whole server; refused ones do not count", async () => {
  const t = await startTestServer({ registerRate: 3, registerRateTotal: 0 });
  try {
    assert.equal(await register(t, "u1"), "ok");
    assert.equal(await register(t, "u1"), "name_taken"); // gives its token back
    assert.equal(await register(t, "u2"), "ok");
    assert.equal(await register(t, "u3"), "ok");
    assert.equal(await register(t, "u4"), "throttled");
    const c = await anon(t); // logins are not registrations
    await c.request("login", { user: "u1", password: "pw u1 ok" });
  } finally {
    await t.stop();
  }
  const all = await startTestServer({ registerRate: 0, registerRateTotal: 2 });
  try {
    assert.equal(await register(all, "v1"), "ok");
    assert.equal(await register(all, "v2"), "ok");
    assert.equal(await register(all, "v3"), "throttled");
  } finally {
    await all.stop();
  }
});

Deno.test("below the free-space floor sends, uploads and registrations answer disk_full", async () => {
  let free: number | null = null; // unknown: never refused
  const dirs = new Set<string>();
  const clock = new ManualClock();
  const t = await startTestServer({ minFreeMiB: 64 }, {
    freeSpace: (d) => (dirs.add(d), free),
    clock,
  });
  try {
    const a = await t.client("alice");
    const b = await t.client("bob");
    free = 10 * 1048576; // 10 MiB left, the floor is 64
    clock.advance(1001); // the probe's answer is reused for a second
    const to = { kind: "user", name: "bob" };
    assert.equal(
      await code(a.conn.request("send", { to, mid: "mid-00001" }, new Uint8Array(10))),
      "disk_full",
    );
    assert.equal(
      await code(
        a.conn.request("file.put", { fid: "fid-00001", to: "bob", size: 5, off: 0 }, new Uint8Array(5)),
      ),
      "disk_full",
    );
    assert.equal(await register(t, "carol"), "disk_full");
    // Ephemeral signals store nothing and still pass.
    assert.equal(
      await code(a.conn.request("send", { to, mid: "mid-00002", ephemeral: true }, new Uint8Array(4))),
      "ok",
    );
    free = 1024 * 1048576;
    clock.advance(1001);
    assert.equal(await code(a.conn.request("send", { to, mid: "mid-00003" }, new Uint8Array(10))), "ok");
    assert.equal(await register(t, "carol"), "ok");
    assert.ok(dirs.has(t.dir) && dirs.has(`${t.dir}/files`), [...dirs].join(" "));
    await b.close();
  } finally {
    await t.stop();
  }
});

Deno.test("--files-max caps everyone's waiting files; --files-dir keeps them in another folder", async () => {
  const files = await Deno.makeTempDir({ prefix: "parley-files-" });
  const t = await startTestServer({ filesMaxBytes: 1000, fileQuota: 800, filesDir: files });
  try {
    const a = await t.client("alice");
    const b = await t.client("bob");
    await t.client("carol");
    const put = (c: typeof a, fid: string, size: number) =>
      code(c.conn.request("file.put", { fid, to: "carol", size, off: 0 }, new Uint8Array(size)));
    assert.equal(await put(a, "fid-aaaa1", 700), "ok");
    assert.equal(await put(b, "fid-bbbb1", 700), "server_full", "700 + 700 is over the server's 1000");
    assert.equal(await put(b, "fid-bbbb2", 300), "ok");
    assert.equal(await put(a, "fid-aaaa2", 200), "server_full");
    assert.equal((await Deno.stat(`${files}/fid-aaaa1.bin`)).size, 700);
    await assert.rejects(Deno.stat(`${t.dir}/files/fid-aaaa1.bin`));
  } finally {
    await t.stop();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("FileStore.count: files already fetched no longer count against MAX_FILES_PER_USER", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-fs-" });
  const fs = new FileStore(dir, 1 << 30, 3600_000, systemClock);
  try {
    await fs.load();
    const f = await fs.create({ fid: "fid-done1", from: "alice", to: "bob", size: 1 });
    await fs.append(f, new Uint8Array(1));
    await fs.create({ fid: "fid-wait1", from: "alice", to: "bob", size: 1 });
    assert.equal(fs.count("alice"), 2);
    await fs.done(f);
    assert.equal(fs.count("alice"), 1, `a fetched file would fill the ${MAX_FILES_PER_USER} slots`);
    assert.equal(fs.usedAll(), 1);
  } finally {
    await fs.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("freeBytes reads the disk's free space (with --allow-sys); a missing folder is unknown", () => {
  const n = freeBytes(Deno.cwd());
  assert.ok(n !== null && n > 0);
  assert.equal(freeBytes("/no/such/folder/at/all"), null);
});

Deno.test("scripted: parley admin invite, parley register --invite CODE; a locked login exits 1 with the time", async () => {
  const { runCli } = await import("../lib/client/cli/main.ts");
  const t = await startTestServer({ registration: "invite", maxAttempts: 1, lockoutSeconds: 600 });
  const home = await Deno.makeTempDir({ prefix: "parley-cli-" });
  const cli = async (user: string, password: string, ...args: string[]) => {
    const out: string[] = [], err: string[] = [];
    const env = { get: (n: string) => (n === "PARLEY_PASSWORD" ? password : undefined) };
    const code = await runCli(
      [...args, "--server", `127.0.0.1:${t.port}`, "--user", user, "--home", home, "--trust-on-first-use"],
      { env, out: (l) => out.push(l), err: (l) => err.push(l), prompts: {}, version: "test" },
    );
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  try {
    const code = (await runConsoleLine(t.srv, "/invite")).match(/code ([0-9a-z-]{23})/)![1]!;
    const noCode = await cli("root", "root password", "register");
    assert.deepEqual([noCode.code, noCode.err], [
      1,
      "parley: This server takes new accounts by invitation only: register with --invite CODE from an admin",
    ]);
    assert.equal((await cli("root", "root password", "register", "--invite", code)).code, 0);
    await t.srv.core.store.setRole("root", "admin");
    const made = await cli("root", "root password", "admin", "invite");
    assert.equal(made.code, 0, made.err);
    const second = made.out.match(/^Invitation code ([0-9a-z-]{23}), valid once until \S+Z$/)![1]!;
    const reg = await cli("dana", "dana password", "register", "--invite", second);
    assert.deepEqual([reg.code, reg.out], [0, `Registered dana on 127.0.0.1:${t.port}`]);
    // Issue 34 item 12: a scripted command ends non-zero and names the lockout's end in local time.
    assert.equal((await cli("dana", "wrong password", "login")).code, 1);
    const locked = await cli("dana", "dana password", "login");
    assert.equal(locked.code, 1);
    assert.match(
      locked.err,
      /^parley: Account dana is locked until (?:\d{1,2} \w{3} \d{4} )?\d\d:\d\d \(in 10 min\) after too many failed logins$/,
    );
  } finally {
    await t.stop();
    await Deno.remove(home, { recursive: true });
  }
});
