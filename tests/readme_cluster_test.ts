/**
 * README's "Running several nodes" one-machine recipe, run as written (issue 71 item 16, issue 69 "Also"): the
 * block between `<!-- recipe:several-nodes -->` markers runs in bash in an empty temp folder, on free ports,
 * with `parley-server` standing for `server.ts`; the three nodes start without a WARN line and join one
 * cluster, and its NATS refuses a connection without the recipe's user and password.
 */
import assert from "node:assert/strict";
import { connect } from "nats";
import { clusterSkip } from "./cluster_harness.ts";
import { eventually, PROGRAM_PERMS, rootFile } from "./helpers.ts";

const ignore = clusterSkip !== null;

/** nats.js may raise NATS's refusal a second time, as an uncaught reset: here it is expected. */
globalThis.addEventListener("error", (e: ErrorEvent) => {
  if (/ECONNRESET/i.test(String(e.error))) e.preventDefault();
});

/** The README's recipe, ports replaced by free ones. */
function recipe(ports: { pg: number; nats: number; node: number }): string {
  const readme = Deno.readTextFileSync(rootFile("README.md"));
  const m = readme.match(
    /<!-- recipe:several-nodes -->\s*```sh\n([\s\S]*?)```\s*<!-- \/recipe:several-nodes -->/,
  );
  assert.ok(m, "README has the several-nodes recipe between its markers");
  const line = /^PGPORT=\d+ NATSPORT=\d+ PORT=\d+/m;
  assert.match(m[1]!, line);
  return m[1]!.replace(line, `PGPORT=${ports.pg} NATSPORT=${ports.nats} PORT=${ports.node}`);
}

function free(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A port with the two after it free too. */
function freeRun(from: number): number {
  for (let p = from; p < from + 2000; p += 3) if (free(p) && free(p + 1) && free(p + 2)) return p;
  throw new Error("no free ports");
}

Deno.test({
  name:
    "README several-nodes recipe: runs as written, three nodes start with no WARN line, NATS refuses a client without the password",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-recipe-" });
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ports = { pg: freeRun(base), nats: freeRun(base + 3000), node: freeRun(base + 6000) };
    const root = Deno.uid() === 0;
    // `parley-server` is server.ts; as root (CI), PostgreSQL's tools run as the postgres user, as they must.
    const prelude = [
      `parley-server() { exec "${Deno.execPath()}" run --config "${rootFile("deno.json")}" ${
        PROGRAM_PERMS.join(" ")
      } ` +
      `"${rootFile("server.ts")}" "$@"; }`,
      ...(root
        ? [
          `chmod 755 .`,
          `initdb() { install -d -o postgres -m 700 ./pg; chown postgres ./pg.pass; runuser -u postgres -- initdb "$@"; }`,
          `pg_ctl() { runuser -u postgres -- pg_ctl "$@"; }`,
        ]
        : []),
    ].join("\n");
    const stop =
      `trap 'kill $(jobs -p) 2>/dev/null; wait; pg_ctl -D ./pg -m fast -w stop >/dev/null; exit 0' TERM\nwait\n`;
    const script = `${prelude}\n${recipe(ports)}\n${stop}`;
    const child = new Deno.Command("bash", {
      args: ["-c", script],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0" },
    }).spawn();
    const out = new Response(child.stdout).text();
    const err = new Response(child.stderr).text();
    const logs = () =>
      [1, 2, 3].map((i) => {
        try {
          return Deno.readTextFileSync(`${dir}/n${i}/parley.log`);
        } catch {
          return "";
        }
      });
    try {
      await eventually(
        () => logs().every((l) => /listening|cluster\.join/.test(l)) && logs()[2]!.includes("cluster.join"),
        60_000,
        "three nodes started",
      );
      await new Promise((r) => setTimeout(r, 3000)); // a start's later checks (the files folder) have run
      for (const [i, l] of logs().entries()) {
        assert.match(l, /cluster\.join/, `node ${i + 1} joined`);
        assert.doesNotMatch(l, /\bWARN\b|\bERROR\b/, `node ${i + 1} started without a warning:\n${l}`);
      }
      await assert.rejects(
        connect({ servers: `127.0.0.1:${ports.nats}`, reconnect: false }),
        /authorization/i,
        "NATS refuses a client without the recipe's password",
      );
      const conf = await Deno.readTextFile(`${dir}/nats.conf`);
      const pass = conf.match(/password: "([0-9a-f]+)"/)![1]!;
      const nc = await connect({
        servers: `127.0.0.1:${ports.nats}`,
        user: "parley",
        pass,
        reconnect: false,
      });
      await nc.close();
    } catch (e) {
      child.kill("SIGTERM");
      await child.status;
      throw new Error(`${e}\nthe recipe said:\n${await out}\n${await err}\n${logs().join("\n")}`);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      const [o, e] = await Promise.all([out, err]);
      await Deno.remove(dir, { recursive: true });
      assert.doesNotMatch(o + e, /\bWARN\b/, `no WARN on the terminal:\n${o}\n${e}`);
    }
  },
});
