/**
 * Throwaway PostgreSQL and NATS for tests: `initdb` into a temp folder and `pg_ctl` on a free loopback
 * port (as the `postgres` user when the tests run as root), `nats-server` on a free port; both stopped
 * by PID, never a system service. `clusterSkip` is the one-line reason to skip when a binary is missing
 * (null when present); on CI (CI=true) a missing binary is not a skip but a failure.
 */

const onCi = Deno.env.get("CI") === "true";

/** The cluster key of in-process test nodes (each test cluster has its own subject too). */
export const TEST_CLUSTER_KEY: Uint8Array = crypto.getRandomValues(new Uint8Array(32));

function findPgBin(): string | null {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name)
      .filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      try {
        Deno.statSync(`${dir}/initdb`);
        return dir;
      } catch { /* next */ }
    }
  } catch { /* not Debian-style */ }
  return onPath("initdb") ? "" : null;
}

function onPath(cmd: string): string | null {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const base of [d, "/usr/sbin", "/sbin"]) {
      try {
        if (Deno.statSync(`${base}/${cmd}`).isFile) return `${base}/${cmd}`;
      } catch { /* next */ }
    }
  }
  return null;
}

const pgBin = findPgBin();
const natsBin = onPath("nats-server");

const missing = [pgBin === null ? "postgresql (initdb)" : "", natsBin === null ? "nats-server" : ""]
  .filter(Boolean);

/** Why cluster tests are skipped here (null: they run). On CI a missing binary makes them fail instead. */
export const clusterSkip: string | null = missing.length && !onCi
  ? `skipped: ${missing.join(" and ")} not installed (apt-get install postgresql nats-server)`
  : null;
if (clusterSkip) console.log(clusterSkip);

function requireBins(): void {
  if (missing.length) throw new Error(`${missing.join(" and ")} not installed (CI=true requires them)`);
}

export async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Promise.resolve();
  return port;
}

const isRoot = Deno.uid() === 0;

async function run(cmd: string, args: string[]): Promise<string> {
  const [c, a] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const out = await new Deno.Command(c, { args: a, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} failed: ${text}`);
  return text;
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) Deno.kill(pid, "SIGKILL");
}

export interface TestPostgres {
  /** postgres://parley@127.0.0.1:PORT/DB for a database made by `newDatabase` (or "postgres"). */
  url(db?: string): string;
  /** A fresh empty database; returns its URL. */
  newDatabase(): Promise<string>;
  pid: number;
  stop(): Promise<void>;
}

let dbCounter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  requireBins();
  const dir = await Deno.makeTempDir({ prefix: "parley-pg-" });
  if (isRoot) {
    const uid = Number((await run("id", ["-u"])).trim());
    const gid = Number((await run("id", ["-g"])).trim());
    await Deno.chown(dir, uid, gid);
  }
  const bin = (n: string) => pgBin ? `${pgBin}/${n}` : n;
  const data = `${dir}/data`;
  await run(bin("initdb"), ["-D", data, "-U", "parley", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    `-c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  await run(bin("pg_ctl"), ["-D", data, "-l", `${dir}/log`, "-w", "-t", "30", "-o", opts, "start"]);
  const pid = Number(Deno.readTextFileSync(`${data}/postmaster.pid`).split("\n")[0]);
  const url = (db = "postgres") => `postgres://parley@127.0.0.1:${port}/${db}`;
  const stopSync = () => {
    try {
      Deno.kill(pid, "SIGQUIT");
    } catch { /* gone */ }
  };
  globalThis.addEventListener("unload", stopSync);
  return {
    url,
    pid,
    async newDatabase() {
      const name = `t${Deno.pid}_${++dbCounter}`;
      await run(bin("psql"), [
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        "parley",
        "-d",
        "postgres",
        "-q",
        "-c",
        `CREATE DATABASE ${name}`,
      ]);
      return url(name);
    },
    async stop() {
      globalThis.removeEventListener("unload", stopSync);
      if (alive(pid)) Deno.kill(pid, "SIGTERM");
      await waitGone(pid, 5000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

export interface TestNats {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startNats(): Promise<TestNats> {
  requireBins();
  const port = await freePort();
  const child = new Deno.Command(natsBin!, {
    args: ["-a", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const end = Date.now() + 5000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}
