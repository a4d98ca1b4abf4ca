/**
 * `server.ts admin grant|revoke|unlock NAME` and `admin invite` while the server is stopped: the
 * same `Core.setRole`, `Core.unlock` and `Core.invite` the console and the protocol use (same checks, audit rows and answers), over
 * the store alone (no network, no sessions, no password hashing). No I/O of its own.
 */
import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { Accounts, type Hasher } from "./accounts.ts";
import { resolveConfig } from "./config.ts";
import { type ActionResult, Core } from "./core.ts";
import { Hub } from "./hub.ts";
import { MessageLog } from "./message_log.ts";
import type { Store } from "./store/store.ts";

export const OFFLINE_ACTIONS = ["grant", "revoke", "unlock", "invite"] as const;
export type OfflineAction = typeof OFFLINE_ACTIONS[number];

/** Offline actions never check a password. */
const noHasher: Hasher = {
  hash: () => Promise.reject(new Error("offline admin does not hash passwords")),
  verify: () => Promise.reject(new Error("offline admin does not verify passwords")),
};

/** Runs one offline admin action as actor "cli" (`user` is ignored by `invite`). */
export function offlineAdmin(
  store: Store,
  action: OfflineAction,
  user: string,
  deps: { clock: Clock; log: Logger; dataDir: string },
): Promise<ActionResult> {
  // An invitation is made for a server that asks for them (the running one's mode is not known here).
  const config = resolveConfig({ dataDir: deps.dataDir, registration: "invite" });
  const hub = new Hub();
  const accounts = new Accounts(store, noHasher, deps.clock, deps.log, config);
  const core = new Core(config, store, hub, accounts, new MessageLog(store, hub), deps.clock, deps.log);
  if (action === "invite") return core.invite("cli");
  return action === "unlock"
    ? core.unlock("cli", user)
    : core.setRole("cli", user, action === "grant" ? "admin" : "user");
}
