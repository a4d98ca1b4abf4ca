/**
 * `--lockout-cap` reaches the server: a real server.ts started with a cap below `--lockout` locks an
 * account for the cap, not for `--lockout` (issue 35: replacing the flag's value with Infinity in
 * server.ts passed every other test, which hand the cap to the server in-process).
 */
import assert from "node:assert/strict";
import { Connection } from "../lib/client/session/connection.ts";
import { spawnServerProcess } from "./helpers.ts";
import { test } from "./deadline.ts";

test("server.ts --lockout-cap bounds the first lockout (--lockout 600 --lockout-cap 3)", {
  deadlineMs: 60_000,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-lockcap-" });
  const srv = await spawnServerProcess(dir, {
    args: ["--max-attempts", "1", "--lockout", "600", "--lockout-cap", "3"],
  });
  const conns: Connection[] = [];
  const open = async () => {
    const c = await Connection.open({ host: "127.0.0.1", port: srv.port, caPem: srv.cert });
    conns.push(c);
    await c.request("hello", { v: 1, client: "t" });
    return c;
  };
  try {
    await (await open()).request("register", { user: "alice", password: "right password" });
    let said = "";
    for (let i = 0; i < 3 && !/locked/.test(said); i++) {
      said = await (await open()).request("login", { user: "alice", password: `bad ${i}` }).then(
        () => "logged in",
        (e: Error) => e.message,
      );
    }
    assert.match(said, /locked until .*\(in [23] s\)/, said);
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
