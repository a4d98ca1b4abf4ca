/**
 * A floor under workload C (issue 37): the least a resume-token login must do, on Parley's transport
 * (lib/net/tls_server.ts's listener, NodeConn) with Parley's frame codec and Parley's SQLite store:
 * `hello` answered with an ok, `login` by hashing the token (SHA-256) and looking its owner up in the
 * store (`tokenOwner`, the query the server runs), an ok or an err. No session, no admission, no
 * nonce, no ban check, no presence, no request chain. Its CPU per connection beside the server's says
 * how much of C is Parley's own work above a token check and how much is the runtime's. As a server
 * (`login_floor.ts CERT KEY N`, run by `loginFloor`) it seeds N users as the bench server does (their
 * tokens), in its folder, then prints its port.
 */
import { dirname } from "node:path";
import { sha256Hex } from "../../lib/common/bytes.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../../lib/protocol/frame.ts";
import type { NodeConn } from "../../lib/net/tls.ts";
import { SqliteStore } from "../../lib/server/store/sqlite_store.ts";
import { seedStore, tokenOf } from "./bench_server.ts";
import { listenAsRef } from "./paced_floor.ts";
import { type Row, withRefServer } from "./proc.ts";

/** The users `chat_load.ts idle` logs in as. */
export function idleUsers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `i${String(i).padStart(4, "0")}`);
}

async function serve(cert: string, key: string, db: string, n: number): Promise<void> {
  await seedStore(new SqliteStore(db), idleUsers(n));
  const store = new SqliteStore(db);
  const done = () => {};
  const answer = async (c: NodeConn, f: Frame) => {
    const h = f.header, id = h.id;
    if (h.t === "hello") {
      return c.writeThen(encodeFrame({ t: "ok", id, v: 1, server: "parley", time: Date.now() }), done);
    }
    if (h.t === "login" && typeof h.token === "string") {
      const owner = await store.tokenOwner(await sha256Hex(h.token), Date.now());
      if (owner && owner.user === h.user) {
        return c.writeThen(encodeFrame({ t: "ok", id, user: owner.user, role: owner.role }), done);
      }
    }
    c.writeThen(encodeFrame({ t: "err", id, code: "bad_request" }), done);
  };
  await listenAsRef(cert, key, async (c) => {
    const dec = new FrameDecoder(1024 * 1024, { owns: true });
    try {
      for (let b = await c.readChunk(); b !== null; b = await c.readChunk()) {
        for (const f of dec.push(b)) await answer(c, f);
      }
    } catch { /* the bench closed it */ }
  });
}

/**
 * C's cold measurement against the floor, made as `idle` makes it (the same users, tokens and
 * client): KB and server CPU per connection. (chat_load.ts and the client are imported here, not at
 * the top: chat_load.ts imports this module, and the floor's own process needs neither.)
 */
export async function loginFloor(n: number): Promise<Row[]> {
  const { coldKbPerConn } = await import("./chat_load.ts");
  const { LoadConn } = await import("./load_client.ts");
  const users = idleUsers(n);
  return withRefServer("login floor", import.meta.filename!, [String(n)], async ({ pid, port, cert }) => {
    const cold = await coldKbPerConn(pid, n, async (i) => {
      const c = await LoadConn.open(port, cert);
      await c.login(users[i]!, tokenOf(users[i]!));
      return c;
    });
    for (const c of cold.conns) c.close();
    const what = "a token login and nothing else on Parley's transport";
    return [
      { name: `C reference: ${what}, ${n} idle connections, cold`, value: cold.kb, unit: "KB" },
      { name: `C reference: ${what}, server CPU per connection, cold`, value: cold.cpu, unit: "µs" },
    ];
  });
}

if (import.meta.main && Deno.args.length === 3) { // (withRefServer: CERT KEY N)
  const [cert, key, n] = [Deno.args[0]!, Deno.args[1]!, Number(Deno.args[2])];
  await serve(Deno.readTextFileSync(cert), Deno.readTextFileSync(key), `${dirname(cert)}/floor.db`, n);
}
