/**
 * The server's commands that run without serving (lib/server/launch.ts picks them): `admin
 * grant|revoke|unlock NAME` and `admin invite` (lib/server/offline_admin.ts), `admin check|salvage`
 * (lib/server/data_check.ts), `backup DEST` and `restore SRC` (lib/server/backup.ts, lib/server/restore.ts). Their output
 * lines, the environment, the clock and the files they stat or read come through `OfflinePorts`.
 */
import type { Clock } from "../common/clock.ts";
import { Logger } from "../common/logger.ts";
import { VERSION } from "../common/version.ts";
import { normalizeName } from "../protocol/names.ts";
import { filesDirOf } from "./config.ts";
import { backup } from "./backup.ts";
import { databaseInUse, restore } from "./restore.ts";
import { adminCheck, adminSalvage } from "./data_check.ts";
import { dbPathIn, ensureDataDir } from "./data_dir.ts";
import { OFFLINE_ACTIONS, type OfflineAction, offlineAdmin } from "./offline_admin.ts";
import { SqliteStore } from "./store/sqlite_store.ts";

/** What the offline commands read and write of the process. */
export interface OfflinePorts {
  env: { get(name: string): string | undefined };
  clock: Clock;
  /** A line on standard output (console.log). */
  print: (line: string) => void;
  /** A line on standard error (console.error). */
  printErr: (line: string) => void;
  /** Whether a file is there (the database before asking whether a server holds it). */
  exists: (path: string) => Promise<boolean>;
  readText: (path: string) => Promise<string>;
}

/** `admin grant|revoke|unlock NAME` with the server stopped: Core's own actions (lib/server/offline_admin.ts). */
export async function adminCommand(dataDir: string, args: string[], ports: OfflinePorts): Promise<number> {
  const [action, raw = ""] = args;
  if (!action || !(OFFLINE_ACTIONS as readonly string[]).includes(action) || (!raw && action !== "invite")) {
    throw new Error(`Usage: admin grant|revoke|unlock NAME, or admin invite`);
  }
  await ensureDataDir(dataDir);
  // Accounts only (messages are indexed only when asked for): SQLite lets it run beside a server.
  const running = await ports.exists(dbPathIn(dataDir)) && databaseInUse(dbPathIn(dataDir));
  const store = new SqliteStore(dbPathIn(dataDir), { lazyMessages: true });
  try {
    const log = new Logger([], ports.clock);
    const user = normalizeName(raw) ?? raw;
    const before = action === "invite" ? undefined : (await store.getUser(user))?.role;
    const r = await offlineAdmin(store, action as OfflineAction, raw, { clock: ports.clock, log, dataDir });
    if (!r.ok) throw new Error(r.code === "no_such_user" ? `${r.msg}; they must register first` : r.msg);
    ports.print(r.text);
    const changed = (action === "grant" && before !== "admin") || (action === "revoke" && before === "admin");
    if (changed && running) {
      // The running server reads roles from the store at each admin command, not at once everywhere.
      ports.printErr(
        action === "grant"
          ? `A server is running on this data folder: ${user} is an admin there from their next login ` +
            `(its console's /grant ${user} applies it at once)`
          : `A server is running on this data folder: ${user}'s next admin command there is refused, ` +
            "and their clients are told then",
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `admin check` (exit 1 when something is wrong) and `admin salvage` (server stopped): lib/server/data_check.ts. */
export async function checkCommand(
  what: "check" | "salvage",
  dataDir: string,
  filesDir: string,
  ports: OfflinePorts,
): Promise<number> {
  if (what === "check") {
    const r = adminCheck(dataDir, filesDir);
    ports.print(r.lines.join("\n"));
    return r.ok ? 0 : 1;
  }
  const db = dbPathIn(dataDir);
  if (await ports.exists(db) && databaseInUse(db)) {
    throw new Error(`a server is using ${db}: stop it first`);
  }
  const stamp = new Date(ports.clock.now()).toISOString().replace(/[:.]/g, "-");
  ports.print((await adminSalvage(dataDir, stamp)).join("\n"));
  return 0;
}

/** `backup DEST` and `restore SRC` (lib/server/backup.ts, restore.ts): the data folder, `--files-dir`, `--store`. */
export async function backupCommand(
  [cmd, path, ...extra]: string[],
  o: { dataDir: string; filesDir?: string; store?: string; otherServer: boolean; tlsCert?: string },
  ports: OfflinePorts,
): Promise<number> {
  if (!path || extra.length) throw new Error(`Usage: ${cmd} ${cmd === "backup" ? "DEST" : "SRC"}`);
  const common = {
    dataDir: o.dataDir,
    filesDir: filesDirOf({ dataDir: o.dataDir, filesDir: o.filesDir }),
    postgres: !!(o.store ?? ports.env.get("PARLEY_STORE")),
    now: ports.clock.now(),
  };
  const lines = cmd === "backup" ? await backup(path, { ...common, version: VERSION }) : await restore(path, {
    ...common,
    otherServer: o.otherServer,
    tlsCert: o.tlsCert === undefined ? undefined : await ports.readText(o.tlsCert),
  });
  for (const l of lines) ports.print(l);
  return 0;
}
