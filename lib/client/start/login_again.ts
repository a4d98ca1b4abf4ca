/**
 * `loginAgain`: logs in again on a new pinned connection, without prompts — the password from
 * `--password-file` or PARLEY_PASSWORD — for a core that reconnects by itself (the full-screen client,
 * `parley read --follow`): the session the core adopts (core/chat_client.ts keeps its store and codec).
 */
import { ServerSession } from "../core/server_session.ts";
import {
  type ClientEnv,
  type ConnectFlags,
  openPinned,
  readPassword,
  resolveTarget,
} from "./session_setup.ts";

/** A new session of the user of `f` (`quiet`: a scripted one, not shown online). */
export async function loginAgain(f: ConnectFlags, env: ClientEnv, quiet = false): Promise<ServerSession> {
  const t = resolveTarget(f, env), user = t.user ?? "";
  const password = await readPassword(f, env, {}, user, false);
  const { conn, server } = await openPinned(t, f, {});
  return await ServerSession.login({
    conn,
    server,
    user,
    password,
    clientName: "parley-cli",
    ...(quiet ? { quiet } : {}),
  })
    .catch(async (e) => {
      await conn.close();
      throw e;
    });
}
