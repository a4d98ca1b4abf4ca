/**
 * Test helpers: an in-process server on port 0 with real TLS and a temporary SQLite store, test
 * clients that trust its certificate, and a fast stand-in hasher for tests not about passwords.
 */
import { type Clock, systemClock } from "../lib/common/clock.ts";
import { memoryLogger } from "../lib/common/logger.ts";
import { makeSelfSignedCert } from "../lib/net/cert.ts";
import type { Hasher } from "../lib/server/accounts.ts";
import type { ServerOptions } from "../lib/server/config.ts";
import { ParleyServer } from "../lib/server/server.ts";
import { SqliteStore } from "../lib/server/store/sqlite_store.ts";
import { ChatClient } from "../lib/client/chat_client.ts";
import { Connection } from "../lib/client/connection.ts";

let certCache: Promise<{ cert: string; key: string }> | null = null;
export const testCert = () => certCache ??= makeSelfSignedCert();

/** Not a password hash: equality with a prefix. For tests that are not about hashing. */
export const fastHasher: Hasher = {
  hash: (p) => Promise.resolve(`fake$${p}`),
  verify: (p, h) => Promise.resolve(h === `fake$${p}`),
};

export interface TestServer {
  srv: ParleyServer;
  port: number;
  cert: string;
  dir: string;
  lines: string[];
  connect(): Promise<Connection>;
  client(user: string, o?: { register?: boolean; password?: string }): Promise<ChatClient>;
  stop(): Promise<void>;
}

export async function startTestServer(
  opts: ServerOptions = {},
  o: { clock?: Clock; hasher?: Hasher & { close?: () => void }; dir?: string } = {},
): Promise<TestServer> {
  const tls = await testCert();
  const dir = o.dir ?? await Deno.makeTempDir({ prefix: "parley-test-" });
  const clock = o.clock ?? systemClock;
  const { logger, lines } = memoryLogger(clock);
  const store = new SqliteStore(`${dir}/parley.db`);
  const srv = new ParleyServer({ port: 0, msgRate: 0, loginRate: 0, ...opts, dataDir: dir }, {
    store,
    log: logger,
    tls,
    clock,
    hasher: o.hasher ?? fastHasher,
  });
  await srv.start();
  const clients: (ChatClient | Connection)[] = [];
  const connect = async () => {
    const c = await Connection.open({ host: "127.0.0.1", port: srv.port, caPem: tls.cert });
    clients.push(c);
    return c;
  };
  return {
    srv,
    port: srv.port,
    cert: tls.cert,
    dir,
    lines,
    connect,
    async client(user, co = {}) {
      const conn = await connect();
      const c = await ChatClient.login({
        conn,
        server: `127.0.0.1:${srv.port}`,
        user,
        password: co.password ?? `pw-${user}-secret`,
        register: co.register ?? true,
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => {});
      await srv.shutdown();
      if (!o.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Waits until `fn` returns a truthy value, polling; fails after `ms`. */
export async function eventually<T>(fn: () => T | Promise<T>, ms = 3000, what = "condition"): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects events of one type from a client. */
export function collect<T extends string>(c: ChatClient, type: T): { items: unknown[]; stop: () => void } {
  const items: unknown[] = [];
  const stop = c.on((e) => {
    if (e.type === type) items.push(e);
  });
  return { items, stop };
}
