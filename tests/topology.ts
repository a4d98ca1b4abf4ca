/**
 * One test, two set-ups (issue 16): `topologyTest` registers a test twice — on one server with
 * SQLite, and on three nodes sharing a throwaway PostgreSQL and NATS with clients spread round-robin
 * over the nodes (node 1 is `t.srv`: console lines and admin actions there reach users on the
 * others). The cluster run skips like the other cluster tests (fails on CI) when the engines are
 * missing; the engines are stopped after the file's tests (`Deno.test.afterAll`), whatever ran or failed.
 */
import { NatsBus } from "../lib/server/bus/nats_bus.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import { PostgresStore } from "../lib/server/store/postgres_store.ts";
import { clusterSkip, fileEngines, TEST_CLUSTER_KEY } from "./cluster_harness.ts";
import postgres from "postgres";
import { type SharedStoreText, startTestServer, type TestServer } from "./helpers.ts";

type Start = (opts?: ServerOptions, o?: Parameters<typeof startTestServer>[1]) => Promise<TestServer>;

const engines = fileEngines();
const both = engines.both;

/** Three nodes on a fresh database and bus subject; clients round-robin over them. */
export const startTestCluster: Start = async (opts = {}, o = {}) => {
  const { pg, nats } = await both();
  const url = await pg.newDatabase();
  const subject = `parley.t${crypto.randomUUID().slice(0, 8)}`;
  return await startTestServer(opts, {
    ...o,
    nodes: {
      count: 3,
      store: () => PostgresStore.open(url),
      bus: (i) => NatsBus.open(nats.url, `node${i + 1}`, { key: TEST_CLUSTER_KEY, subject }),
      shared: storeText(url),
      key: TEST_CLUSTER_KEY,
    },
  });
};

/** Every row of every table as text, byte columns decoded too (a plaintext in a body must show). */
function storeText(url: string): SharedStoreText {
  const run = async <T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return await fn(sql);
    } finally {
      await sql.end();
    }
  };
  return {
    mark: (marker) =>
      run(async (sql) => {
        await sql`INSERT INTO rooms (name, created_by, created_at) VALUES (${marker}, 'test', 0)`;
      }),
    text: () =>
      run(async (sql) => {
        const tables =
          await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
        let out = "";
        for (const t of tables) {
          for (const r of await sql`SELECT row_to_json(x)::text AS j FROM ${sql(t.table_name)} x`) {
            out += r.j + "\n";
            for (const hex of String(r.j).match(/\\\\x([0-9a-f]+)/g) ?? []) {
              const b = hex.slice(3).match(/../g)?.map((h) => parseInt(h, 16)) ?? [];
              out += new TextDecoder().decode(new Uint8Array(b)) + "\n";
            }
          }
        }
        return out;
      }),
  };
}

/** Registers `fn` as a test on one SQLite server and again on a three-node cluster. */
export function topologyTest(name: string, fn: (start: Start) => Promise<void>): void {
  Deno.test(name, () => fn(startTestServer));
  Deno.test({ name: `${name} [3 nodes]`, ignore: clusterSkip !== null, fn: () => fn(startTestCluster) });
}

// The throwaway engines stop after the file's last test, also after a failure or when --filter ran
// none of the cluster runs (a cleanup, not a test that asserts nothing; issue 35).
Deno.test.afterAll(engines.stop);
