/**
 * Spawned `server.ts` nodes for the cluster tests and bench (issue 16): one node on a shared
 * PostgreSQL (and NATS bus), the test certificate on every node so one pin holds, stopped by PID;
 * `login` logs a ChatClient into a node with the cheap test KDF.
 */
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { newClusterKeyText } from "../lib/server/bus/seal.ts";
import { PROGRAM_PERMS, rootFile, testCert, testKdf } from "./helpers.ts";

export interface SpawnedNode {
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  /** Everything the node wrote to stderr, once it has exited. */
  stderr: Promise<string>;
  /** Writes a console line (nodes started with `console: true`). */
  console(line: string): Promise<void>;
  stop(): Promise<void>;
}

async function certFiles(dir: string): Promise<{ cert: string; key: string }> {
  const t = await testCert();
  await Deno.writeTextFile(`${dir}/cert.pem`, t.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, t.key);
  return { cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
}

/** Starts a node; resolves with its port, or rejects with its stderr when it exits first. */
export async function spawnNode(
  dir: string,
  store: string,
  bus: string | null,
  o: { console?: boolean; args?: string[]; keyFile?: string } = {},
): Promise<SpawnedNode> {
  const files = await certFiles(dir);
  const data = await Deno.makeTempDir({ dir, prefix: "node-" });
  const keyFile = `${dir}/cluster.key`; // one key for the nodes of one folder (a cluster)
  await Deno.writeTextFile(keyFile, newClusterKeyText(), { createNew: true, mode: 0o600 }).catch((e) => {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  });
  const args = ["run", ...PROGRAM_PERMS, rootFile("server.ts"), "--port", "0", "--host", "127.0.0.1"];
  args.push("--data", data, "--tls-cert", files.cert, "--tls-key", files.key, "--store", store);
  args.push("--msg-rate", "0", "--login-rate", "0", "--register-rate", "0", ...(o.args ?? []));
  if (bus) args.push("--bus", bus, ...(o.keyFile === "" ? [] : ["--cluster-key-file", o.keyFile ?? keyFile])); // "": none
  if (o.console) args.push("--console");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: o.console ? "piped" : "null",
  }).spawn();
  const err = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = o.console ? child.stdin.getWriter() : null;
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`node exited: ${(await err).trim()}`);
    }
    out += value;
    const m = out.match(/Parley listening on .*:(\d+) \(TLS\)/);
    if (m) {
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return {
        port: Number(m[1]),
        pid: child.pid,
        child,
        stderr: err,
        async console(line) {
          await writer!.write(new TextEncoder().encode(line + "\n"));
        },
        async stop() {
          try {
            child.kill("SIGTERM");
          } catch { /* gone */ }
          await writer?.close().catch(() => {});
          await child.status;
          await err;
        },
      };
    }
  }
}

export async function login(
  port: number,
  user: string,
  register: boolean,
  password = `pw-${user}-secret`,
): Promise<ChatClient> {
  const conn = await Connection.open({ host: "127.0.0.1", port, caPem: (await testCert()).cert });
  return await ChatClient.login({
    conn,
    server: `127.0.0.1:${port}`,
    user,
    password,
    register,
    kdf: testKdf,
  }).catch(async (e) => {
    await conn.close().catch(() => {});
    throw e;
  });
}
