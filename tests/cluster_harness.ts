/**
 * Throwaway PostgreSQL and NATS for tests: `initdb` into a temp folder and `pg_ctl` on a free loopback
 * port (as the `postgres` user when the tests run as root), `nats-server` on a free port (paused,
 * killed and restarted on it by the fault tests); both stopped by PID, never a system service. Either
 * may run with TLS (a throwaway CA made by openssl, `makeTestCa`), NATS with a configuration (users, subject permissions). `clusterSkip` is the
 * one-line reason to skip when a binary is missing (null when present); on CI (CI=true) a missing
 * binary is not a skip but a failure. `faultyBus` puts a fault between a node and its bus.
 */
import type { Bus, BusEvent } from "../lib/server/bus/bus.ts";
import { processAlive } from "../lib/common/process_testing.ts";

const onCi = Deno.env.get("CI") === "true";

/**
 * Bus `b` seen through a fault: an incoming event for which `hear` says false is dropped before the
 * node sees it; an outgoing one for which `send` says false is not sent (`send` may also throw, as a
 * bus that refuses it does), else sent as `shape` makes it (an older version's event). Without any,
 * that direction is left as it is.
 */
export function faultyBus(
  b: Bus,
  o: { hear?: (e: BusEvent) => boolean; send?: (e: BusEvent) => boolean; shape?: (e: BusEvent) => BusEvent },
): Bus {
  return {
    node: b.node,
    publish: (e) => {
      if (o.send?.(e) !== false) b.publish(o.shape ? o.shape(e) : e);
    },
    // To one node (bus protocol 4) through the same fault.
    ...b.publishTo
      ? {
        publishTo: (node: string, e: BusEvent) => {
          if (o.send?.(e) !== false) b.publishTo!(node, o.shape ? o.shape(e) : e);
        },
      }
      : {},
    subscribe: (fn) => b.subscribe((from, e) => o.hear?.(e) === false ? undefined : fn(from, e)),
    close: () => b.close(),
  };
}

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

async function waitGone(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (processAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  if (processAlive(pid)) Deno.kill(pid, "SIGKILL");
}

export interface TestPostgres {
  /** postgres://parley@127.0.0.1:PORT/DB for a database made by `newDatabase` (or "postgres"). */
  url(db?: string): string;
  /** A fresh empty database; returns its URL. */
  newDatabase(): Promise<string>;
  pid: number;
  /** SIGSTOP to the postmaster and every backend: connections hang, none is refused (a paused host). */
  pause(): Promise<void>;
  /** SIGCONT to what `pause` stopped. */
  resume(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`: sessions ended, data kept): connections are refused. */
  down(): Promise<void>;
  /** Starts it again on the same port and data after `down`. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The processes whose parent is `pid` (the postmaster's backends), from `ps`. */
async function childrenOf(pid: number): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-o", "pid=", "--ppid", String(pid)], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
}

let dbCounter = 0;

/**
 * A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and localhost
 * (openssl, EC P-256), as files in `dir` and the CA's PEM text.
 */
export interface TestCa {
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export async function makeTestCa(dir: string, name = "server"): Promise<TestCa> {
  const ssl = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
    if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  const f = (n: string) => `${dir}/${name}-${n}`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await ssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=Parley test CA",
  ]);
  await ssl(["req", ...ec, "-keyout", f("key.pem"), "-out", f("req.pem"), "-subj", "/CN=127.0.0.1"]);
  await Deno.writeTextFile(f("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await ssl([
    "x509",
    "-req",
    "-in",
    f("req.pem"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("cert.pem"),
    "-days",
    "2",
    "-extfile",
    f("ext.cnf"),
  ]);
  return {
    caPem: await Deno.readTextFile(f("ca.pem")),
    caFile: f("ca.pem"),
    certFile: f("cert.pem"),
    keyFile: f("key.pem"),
  };
}

/** Starts PostgreSQL; with `tls`, it serves TLS with that certificate and refuses connections without it. */
export async function startPostgres(o: { tls?: TestCa } = {}): Promise<TestPostgres> {
  requireBins();
  const dir = await Deno.makeTempDir({ prefix: "parley-pg-" });
  const owner = isRoot
    ? { uid: Number((await run("id", ["-u"])).trim()), gid: Number((await run("id", ["-g"])).trim()) }
    : null;
  if (owner) await Deno.chown(dir, owner.uid, owner.gid);
  const bin = (n: string) => pgBin ? `${pgBin}/${n}` : n;
  const data = `${dir}/data`;
  await run(bin("initdb"), ["-D", data, "-U", "parley", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  let opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    `-c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  if (o.tls) {
    for (const [from, to] of [[o.tls.certFile, "server.crt"], [o.tls.keyFile, "server.key"]]) {
      await Deno.copyFile(from!, `${data}/${to}`);
      await Deno.chmod(`${data}/${to}`, 0o600);
      if (owner) await Deno.chown(`${data}/${to}`, owner.uid, owner.gid);
    }
    opts += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key";
    // TCP only over TLS: a client that does not ask for it is refused.
    await Deno.writeTextFile(
      `${data}/pg_hba.conf`,
      "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    );
  }
  await run(bin("pg_ctl"), ["-D", data, "-l", `${dir}/log`, "-w", "-t", "30", "-o", opts, "start"]);
  let pid = Number(Deno.readTextFileSync(`${data}/postmaster.pid`).split("\n")[0]);
  const url = (db = "postgres") => `postgres://parley@127.0.0.1:${port}/${db}`;
  const stopSync = () => {
    try {
      Deno.kill(pid, "SIGCONT");
      Deno.kill(pid, "SIGQUIT");
    } catch { /* gone */ }
  };
  globalThis.addEventListener("unload", stopSync);
  let paused: number[] = [];
  return {
    url,
    get pid() {
      return pid;
    },
    async pause() {
      paused = [pid, ...await childrenOf(pid)];
      for (const p of paused) Deno.kill(p, "SIGSTOP");
    },
    resume() {
      for (const p of paused) {
        try {
          Deno.kill(p, "SIGCONT");
        } catch { /* gone */ }
      }
      paused = [];
      return Promise.resolve();
    },
    async down() {
      await run(bin("pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
    },
    async up() {
      await run(bin("pg_ctl"), ["-D", data, "-l", `${dir}/log`, "-w", "-t", "30", "-o", opts, "start"]);
      pid = Number(Deno.readTextFileSync(`${data}/postmaster.pid`).split("\n")[0]);
    },
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
      for (const p of paused) {
        try {
          Deno.kill(p, "SIGCONT");
        } catch { /* gone */ }
      }
      if (processAlive(pid)) Deno.kill(pid, "SIGTERM");
      await waitGone(pid, 5000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

export interface TestNats {
  url: string;
  port: number;
  /** The running nats-server's PID (a new one after `restart`). */
  pid: number;
  /** SIGSTOP to nats-server: connections hang, none is refused (a paused host). */
  pause(): void;
  /** SIGCONT to what `pause` stopped. */
  resume(): void;
  /** SIGKILL to nats-server (a crash): connections are refused until `restart`. */
  kill(): Promise<void>;
  /** Starts nats-server again on the same port and configuration after `kill`. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts nats-server; `conf` is the text of a configuration file (users, permissions), `tls` makes it
 * require TLS with that certificate and `verifyClients` client certificates signed by the same CA.
 */
export async function startNats(
  o: { conf?: string; tls?: TestCa; verifyClients?: boolean } = {},
): Promise<TestNats> {
  requireBins();
  const port = await freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  let confDir: string | null = null;
  if (o.conf) {
    confDir = await Deno.makeTempDir({ prefix: "parley-nats-" });
    await Deno.writeTextFile(`${confDir}/nats.conf`, o.conf);
    args.push("-c", `${confDir}/nats.conf`);
  }
  if (o.tls) args.push("--tls", "--tlscert", o.tls.certFile, "--tlskey", o.tls.keyFile);
  if (o.tls && o.verifyClients) args.push("--tlsverify", "--tlscacert", o.tls.caFile);
  const spawn = async () => {
    const child = new Deno.Command(natsBin!, { args, stdout: "null", stderr: "null", stdin: "null" }).spawn();
    const end = Date.now() + 5000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return child;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  let child = await spawn();
  const signal = (s: Deno.Signal) => {
    try {
      Deno.kill(child.pid, s);
    } catch { /* gone */ }
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid;
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async kill() {
      signal("SIGKILL");
      await child.status;
    },
    async restart() {
      child = await spawn();
    },
    async stop() {
      signal("SIGCONT");
      signal("SIGTERM");
      await child.status;
      if (confDir) await Deno.remove(confDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A throwaway PostgreSQL and nats-server for one test file: `both()` starts them on first use (then
 * answers the same pair), `stop()` stops them if started. The file registers `stop` with
 * `Deno.test.afterAll`, so they stop after its last test also when one failed or `--filter` ran none
 * that used them (a cleanup, not a test that asserts nothing; issue 35).
 */
export function fileEngines(): {
  both: () => Promise<{ pg: TestPostgres; nats: TestNats }>;
  stop: () => Promise<void>;
} {
  let engines: Promise<{ pg: TestPostgres; nats: TestNats }> | null = null;
  return {
    both: () =>
      engines ??= (async () => {
        const [pg, nats] = await Promise.all([startPostgres(), startNats()]);
        return { pg, nats };
      })(),
    stop: async () => {
      if (!engines) return;
      const started = engines;
      engines = null;
      const { pg, nats } = await started;
      await Promise.all([pg.stop(), nats.stop()]);
    },
  };
}
