/**
 * Before full screen: who and where (flags, environment or a prompt), trust in the server (the
 * fingerprint prompt), log in or register (not asked when the folder already holds the account), a
 * masked password, and clear errors (wrong password, banned, unreachable) with a way to retry. A
 * lockout names the time of the next allowed try and waits for it (`waitUntil`), then asks the
 * password again; without `waitUntil` (or in a script) it ends with that time. A server that
 * registers by invitation asks for the code (or PARLEY_INVITE). Then hands the core (`ChatClient`),
 * which reconnects by itself, to the UI runner, with its settings file and logs (target.ts `screenFiles`).
 */
import { BackendError, type ChatBackend } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { FileDesk } from "../files/desk.ts";
import { watchChannel } from "../video/watch_channel.ts";
import { type ClientFiles, holdsAccount } from "../session/home_dir.ts";
import { pinnedCertificate, serverKey } from "../session/trust.ts";
import { normalizeName } from "../../protocol/names.ts";
import {
  type ClientEnv,
  connectAndLogin,
  type ConnectFlags,
  type Prompts,
  readPassword,
  resolveTarget,
} from "./session_setup.ts";
import { screenFiles } from "./target.ts";
import { deviceProver, loginAgain } from "./login_again.ts";

export interface LaunchPrompts extends Prompts {
  choose?: (message: string, options: { value: string; label: string }[]) => Promise<string | null>;
  error?: (message: string) => void;
  /**
   * After a lockout: shows `message` (it names the time) and resolves at `until` (ms since the
   * epoch) with true to try again, or false when the person gave up.
   */
  waitUntil?: (message: string, until: number) => Promise<boolean>;
}

/** Errors a person can fix by trying again (another password, after starting the server). */
const RETRYABLE = new Set([
  "bad_credentials",
  "name_taken",
  "weak_password",
  "password_mismatch",
  "bad_name",
  "unreachable",
  "throttled",
]);

export async function launchTui(
  flags: ConnectFlags & { register?: boolean; outbox?: string },
  env: ClientEnv,
  prompts: LaunchPrompts,
  run: (backend: ChatBackend, files: ClientFiles) => Promise<void>,
  login: typeof connectAndLogin = connectAndLogin, // the login port (tests: a core in memory)
): Promise<number> {
  const t = resolveTarget(flags, env);
  let user = t.user;
  if (!user && prompts.text) user = (await prompts.text(`User name on ${t.server}`)) ?? undefined;
  if (!user) throw new BackendError("no_user", "No user name: pass --user or set PARLEY_USER");
  const scripted = env.get("PARLEY_PASSWORD") !== undefined || flags.passwordFile !== undefined;
  let register = flags.register === true || env.get("PARLEY_REGISTER") === "1";
  // The folder already holds this account: log in without asking (issue 34.11).
  const nodes = t.nodes ?? [{ host: t.host, port: t.port }];
  const pem = (await Promise.all(nodes.map((n) => pinnedCertificate(t.home, n.host, n.port)))).find((p) => p);
  const names = pem ? [await serverKey(pem), t.server] : [t.server]; // the store is named by the certificate
  const known = await holdsAccount(t.home, normalizeName(user) ?? user, names);
  if (!scripted && !register && prompts.choose && !known) {
    const c = await prompts.choose(`${user} on ${t.server}`, [
      { value: "login", label: "Log in" },
      { value: "register", label: "Create this account" },
    ]);
    if (c === null) return 1;
    register = c === "register";
  }
  let invite = env.get("PARLEY_INVITE");
  for (;;) {
    let password: string;
    try {
      password = await readPassword(flags, env, prompts, user, register); // twice when registering
      const withPw: ClientEnv = { get: (n) => (n === "PARLEY_PASSWORD" ? password : env.get(n)) };
      const client = await login({ ...flags, user }, withPw, prompts, {
        register,
        ...(register && invite ? { invite } : {}),
      });
      const backend = client; // the one core: a reconnect swaps its session inside it
      client.reconnect = () => loginAgain({ ...flags, user }, withPw, false, deviceProver(client));
      if (client.codec.encrypted) {
        attachFileDesk(backend, flags.outbox ?? `${t.home}/outbox`, `${t.home}/downloads`);
        backend.watch = watchChannel(() => backend);
      }
      // The screen calls backend.catchUp() once it listens (nothing queued is emitted before that).
      try {
        await run(backend, screenFiles(t.home, env, client.user));
      } finally {
        await backend.close();
      }
      return 0;
    } catch (e) {
      if (!(e instanceof BackendError)) throw e;
      if (e.code === "locked" && e.until !== undefined && !scripted && prompts.waitUntil) {
        // Never a "Try again?" whose default quits: the next try is at a known time; wait for it.
        if (!await prompts.waitUntil(`${e.message}; the next try is then (Ctrl-C quits)`, e.until)) return 1;
        continue;
      }
      if ((e.code === "invite_required" || e.code === "bad_invite") && !scripted && prompts.text) {
        prompts.error?.(e.message); // a server that registers by invitation: ask for the code
        invite = (await prompts.text("Invitation code (from an admin of the server)"))?.trim() || undefined;
        if (!invite) return 1;
        continue;
      }
      const canRetry = !scripted && RETRYABLE.has(e.code) && prompts.confirm;
      if (!canRetry) throw e;
      prompts.error?.(e.message);
      if (!await prompts.confirm!("Try again?", true)) return 1; // Enter tries again; Ctrl-C or n leaves
      if (e.code === "name_taken") register = false;
    }
  }
}

/** Files (issue 12): the desk, resumed at start, after every reconnect and when a sender is back to send straight. */
export function attachFileDesk(backend: ChatClient, outbox: string, downloads: string): void {
  const desk = new FileDesk(() => backend, { outbox, downloads });
  backend.files = desk;
  const resume = (only?: string) => void desk.resume(only).catch(() => {});
  backend.on((e) => {
    if (e.type === "connection" && e.state === "online") resume();
    if (e.type === "file.again") resume(e.fid); // its sender is back: that file, not every other one
  });
  resume();
}
