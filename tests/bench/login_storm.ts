/**
 * The `logins` bench group (issue 73): a storm of password logins — 200 clients at once, 5 logins
 * each one after another (1,000), every one a full argon2id verification on the server's hashing
 * workers — against a real `server.ts` (bench_server.ts), while one connection already logged in
 * pings every 10 ms: the storm's time, logins per second, failures (a refusal past the hashing
 * queue counts), and the pings' p50 and p99 during the storm beside the same pings before it.
 */
import { hashPasswordInline } from "../../lib/crypto/password.ts";
import { Connection } from "../../lib/client/session/connection.ts";
import { SqliteStore } from "../../lib/server/store/sqlite_store.ts";
import { startServer, stopServer } from "./bench_server.ts";
import type { Row } from "./proc.ts";

const PASSWORD = "bench-storm-password";

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Why logins failed, and how many each way (printed beside the rows). */
const failures = new Map<string, number>();

async function login(port: number, cert: string, user: string): Promise<boolean> {
  let c: Connection | undefined;
  try {
    c = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
    await c.request("hello", { v: 1, client: "bench" });
    await c.request("login", { user, password: PASSWORD });
    return true;
  } catch (e) {
    const why = e instanceof Error ? e.message.slice(0, 80) : String(e);
    failures.set(why, (failures.get(why) ?? 0) + 1);
    return false;
  } finally {
    await c?.close();
  }
}

/** Ping round trips (ms) every 10 ms on `c` until `stop` says so. */
async function pinging(c: Connection, stop: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!stop()) {
    const t0 = performance.now();
    await c.request("ping");
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 10));
  }
  return out;
}

export async function benchLoginStorm(clients = 200, each = 5): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "parley-logins-bench-" });
  try {
    const hash = await hashPasswordInline(PASSWORD, crypto.getRandomValues(new Uint8Array(16)));
    const store = new SqliteStore(`${dir}/parley.db`);
    for (let i = 0; i <= clients; i++) {
      await store.createUser({ name: `s${i}`, hash, role: "user", createdAt: Date.now() });
    }
    await store.close();
    const srv = await startServer(dir);
    try {
      const pinger = await Connection.open({ host: "127.0.0.1", port: srv.port, caPem: srv.cert });
      await pinger.request("hello", { v: 1, client: "bench" });
      await pinger.request("login", { user: `s${clients}`, password: PASSWORD });
      let quietDone = false;
      setTimeout(() => quietDone = true, 1000);
      const quiet = await pinging(pinger, () => quietDone);
      let stormDone = false;
      const during = pinging(pinger, () => stormDone);
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: clients }, async (_, i) => {
        let ok = 0;
        for (let k = 0; k < each; k++) if (await login(srv.port, srv.cert, `s${i}`)) ok++;
        return ok;
      }));
      const secs = (performance.now() - t0) / 1000;
      stormDone = true;
      const pings = await during;
      await pinger.close();
      const ok = results.reduce((a, b) => a + b, 0), n = clients * each;
      for (const [why, k] of failures) console.error(`logins failed ${k}× : ${why}`);
      const what = `${n} password logins, ${clients} clients at once`;
      return [
        { name: `${what}: time`, value: secs, unit: "s" },
        { name: `${what}: logins/s`, value: ok / secs, unit: "/s" },
        { name: `${what}: failed`, value: n - ok, unit: "", target: "0" },
        {
          name: `${what}: ping p50 during (quiet ${pct(quiet, 0.5).toFixed(1)})`,
          value: pct(pings, 0.5),
          unit: "ms",
        },
        {
          name: `${what}: ping p99 during (quiet ${pct(quiet, 0.99).toFixed(1)}, ${pings.length} pings)`,
          value: pct(pings, 0.99),
          unit: "ms",
          target: "≤ 100",
        },
      ];
    } finally {
      await stopServer(srv);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [clients, each] = Deno.args.map(Number);
  for (const r of await benchLoginStorm(clients || 200, each || 5)) console.log(JSON.stringify(r));
}
