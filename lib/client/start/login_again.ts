/**
 * `loginAgain`: logs in again on a new pinned connection, without prompts — the password from
 * `--password-file` or PARLEY_PASSWORD — for a core that reconnects by itself (the full-screen client,
 * `parley read --follow`): the session the core adopts (core/chat_client.ts keeps its store and codec).
 */
import { ServerSession } from "../core/server_session.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { keystoreSide, loginProof } from "../e2e/mod.ts";
import {
  type ClientEnv,
  type ConnectFlags,
  openPinned,
  readPassword,
  resolveTarget,
} from "./session_setup.ts";

/**
 * How `client`'s folder proves its device at a login (issue 69 D1: a reconnect goes through a lockout
 * someone else's guesses set), once its keystore is open; nothing before.
 */
export function deviceProver(client: ChatClient): (nonce: string) => Promise<Record<string, unknown> | null> {
  return async (nonce) => {
    const codec = client.codec;
    return codec instanceof (await keystoreSide()).E2eCodec
      ? await loginProof(codec.cs, { user: client.user, nonce }, codec.device)
      : null;
  };
}

/**
 * A new session of the user of `f` (`quiet`: a scripted one, not shown online; `proveDevice`: the
 * running client's, `deviceProver`).
 */
export async function loginAgain(
  f: ConnectFlags,
  env: ClientEnv,
  quiet = false,
  proveDevice?: (nonce: string) => Promise<Record<string, unknown> | null>,
  ports: { open: typeof openPinned; login: typeof ServerSession.login } = {
    open: openPinned,
    login: (o) => ServerSession.login(o),
  }, // the connection and login ports (tests: in memory)
): Promise<ServerSession> {
  const t = resolveTarget(f, env), user = t.user ?? "";
  const password = await readPassword(f, env, {}, user, false);
  const { conn, server } = await ports.open(t, f, {});
  return await ports.login({
    conn,
    server,
    user,
    password,
    clientName: "parley-cli",
    ...(quiet ? { quiet } : {}),
    ...(proveDevice ? { proveDevice } : {}),
  })
    .catch(async (e) => {
      await conn.close();
      throw e;
    });
}
