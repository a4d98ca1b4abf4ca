/**
 * The bench server: users and resume tokens seeded into a fresh data folder (so argon2id logins do
 * not dominate set-up), then a real `server.ts` in its own process, ready when its listening line
 * comes (within a deadline). Used by the chat and video benches.
 */
import { sha256Hex, toHex, utf8 } from "../../lib/common/bytes.ts";
import { SqliteStore } from "../../lib/server/store/sqlite_store.ts";
import type { Store } from "../../lib/server/store/store.ts";
import { envFlags, phase } from "./proc.ts";

const START_MS = 30_000;

export const ROOT = new URL("../..", import.meta.url).pathname;

export const tokenOf = (u: string) =>
  (u + "-".repeat(64)).slice(0, 0) + toHex(utf8.encode(u.padEnd(32, "#"))).slice(0, 64);

export async function seed(
  dir: string,
  users: string[],
  room?: { name: string; members: string[] },
  devices = false,
) {
  await seedStore(new SqliteStore(`${dir}/parley.db`), users, room, devices);
}

/**
 * Users with resume tokens (and a room) written straight into a store of any kind; closes it.
 * `devices`: each user also has a device row (device 1, without a key), as a client's account has.
 */
export async function seedStore(
  store: Store,
  users: string[],
  room?: { name: string; members: string[] },
  devices = false,
): Promise<void> {
  for (const u of users) {
    await store.createUser({ name: u, hash: "$seeded$", role: "user", createdAt: Date.now() });
    await store.addToken(u, await sha256Hex(tokenOf(u)), Date.now() + 86400_000);
    if (devices) await store.addDevice(u, "bench", Date.now(), 0);
  }
  if (room) {
    await store.createRoom({
      name: room.name,
      createdBy: room.members[0]!,
      createdAt: Date.now(),
      members: room.members.map((user, i) => ({ user, sinceSeq: 0, admin: i === 0 })),
    });
  }
  await store.close();
}

export interface Srv {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  cert: string;
}

/**
 * Extra `deno run` flags for the server, e.g. PARLEY_BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p"
 * (read when a server starts: a reference server importing `seedStore` has no env permission).
 */
const serverFlags = () => envFlags("PARLEY_BENCH_SERVER_FLAGS");

/**
 * Starts `server.ts` on port 0 in `dir` (raised caps, no rate limits, warnings only); `root`: the
 * checkout whose server.ts runs (an A/B of two checkouts), this one by default.
 */
export async function startServer(
  dir: string,
  extra: string[] = [],
  runFlags: string[] = [],
  root = ROOT,
): Promise<Srv> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...serverFlags(),
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      ...runFlags,
      `${root}server.ts`,
      "--port",
      "0",
      "--data",
      dir,
      "--videos",
      `${dir}/no-videos`,
      "--msg-rate",
      "0",
      "--login-rate",
      "0",
      "--register-rate",
      "0",
      "--register-rate-total",
      "0",
      "--max-conns",
      "10000",
      "--max-conns-per-addr",
      "10000",
      "--log-level",
      "warn",
      ...extra,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!out.includes("\n")) {
      const r = await phase("server start", START_MS, reader.read());
      if (r.done) throw new Error("server exited");
      out += r.value;
    }
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const port = Number(out.match(/127\.0\.0\.1:(\d+)/)![1]);
  return { child, pid: child.pid, port, cert: await Deno.readTextFile(`${dir}/cert.pem`) };
}

export async function stopServer(s: Srv): Promise<void> {
  s.child.kill("SIGTERM");
  await s.child.status;
}

/** Seeds users (and a room; `devices`: a device row each), starts a server, runs `fn`, and always cleans up. */
export async function withServer<T>(
  users: string[],
  room: { name: string; members: string[] } | undefined,
  fn: (s: Srv) => Promise<T>,
  devices = false,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-" });
  await seed(dir, users, room, devices);
  const s = await startServer(dir);
  try {
    return await fn(s);
  } finally {
    await stopServer(s);
    await Deno.remove(dir, { recursive: true });
  }
}
