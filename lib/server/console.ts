/**
 * Server console commands (one table: name, arguments, help). `runConsoleLine` turns one typed
 * line into text for the operator; launch.ts feeds it the console port's lines. Actions run as "console".
 * A command's `args` is its usage and its check: the line is split by it (lib/common/usage.ts, as
 * the TUI does), and too few or too many words answer "Usage: /NAME ARGS" before `run` is called.
 */
import type { ParleyServer } from "./server.ts";
import { isoSeconds, KICK_USAGE, parseKick } from "../common/parse_time.ts";
import { splitUsage } from "../common/usage.ts";

interface ConsoleCommand {
  args: string;
  help: string;
  run(srv: ParleyServer, args: string[]): Promise<string> | string;
}

export const CONSOLE_COMMANDS: Record<string, ConsoleCommand> = {
  help: {
    args: "",
    help: "list console commands",
    run: () =>
      Object.entries(CONSOLE_COMMANDS).map(([n, c]) => `/${n}${c.args ? " " + c.args : ""} — ${c.help}`).join(
        "\n",
      ),
  },
  users: {
    args: "",
    help: "registered users with role and lock state",
    run: async (srv) => {
      const now = srv.clock.now();
      const online = new Set(srv.hub.byUser.keys());
      const rows = (await srv.core.store.listUsers()).map((u) =>
        `${u.name.padEnd(20)} ${u.role.padEnd(5)} ${online.has(u.name) ? "online " : "offline"}` +
        (u.lockedUntil > now ? ` locked until ${isoSeconds(u.lockedUntil)}` : "")
      );
      return rows.length ? rows.join("\n") : "No registered users";
    },
  },
  active: {
    args: "",
    help: "users online with address, active since and status",
    run: (srv) => {
      const p = srv.core.presence();
      if (!p.length) return "Nobody is online";
      return p.map((x) =>
        `${x.user.padEnd(20)} ${x.addr.padEnd(22)} since ${isoSeconds(x.since)} ${x.status}${
          x.role === "admin" ? " admin" : ""
        }${x.node ? ` node ${x.node}` : ""}`
      )
        .join("\n");
    },
  },
  info: {
    args: "",
    help: "connections, memory, uptime, queue depths",
    run: (srv) => Object.entries(serverInfo(srv)).map(([k, v]) => `${k}: ${v}`).join("\n"),
  },
  db: {
    args: "",
    help: "what the store holds: users, rooms, messages, bytes, and its file (or database) and size",
    run: async (srv) => {
      const st = await srv.core.store.stats();
      const size = (b: number) =>
        b < 1048576 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 1048576).toFixed(1)} MiB`;
      return [
        `store: ${st.where} (${size(st.sizeBytes)})`,
        `users: ${st.users}`,
        `rooms: ${st.rooms}`,
        `messages: ${st.messages} (${size(st.bodyBytes)} of sealed bodies)`,
        ...(st.files ?? []).map((f) => `file: ${f.name} (${size(f.bytes)})`),
      ].join("\n");
    },
  },
  kick: {
    args: KICK_USAGE,
    help: "disconnect a user; with DURATION (600, 10m, 2h, 1d) also ban them that long",
    run: async (srv, a) => {
      const k = parseKick(a);
      const r = await srv.core.kick("console", k.user, k.banSeconds, k.reason);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  unban: {
    args: "USER",
    help: "lift a ban",
    run: async (srv, a) => {
      const r = await srv.core.unban("console", a[0]!);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  unlock: {
    args: "USER",
    help: "lift a login lockout",
    run: async (srv, a) => {
      const r = await srv.core.unlock("console", a[0]!);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  invite: {
    args: "",
    help: "a one-time code to register with (--registration invite)",
    run: async (srv) => {
      const r = await srv.core.invite("console");
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  grant: {
    args: "USER",
    help: "make a user an admin",
    run: async (srv, a) => {
      const r = await srv.core.setRole("console", a[0]!, "admin");
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  revoke: {
    args: "USER",
    help: "take a user's admin role (not the last admin's)",
    run: async (srv, a) => {
      const r = await srv.core.setRole("console", a[0]!, "user");
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  kicked: {
    args: "",
    help: "recent kicks and bans",
    run: async (srv) => {
      const now = srv.clock.now();
      const k = await srv.core.listKicks();
      if (!k.length) return "Nobody has been kicked";
      return k.map((x) =>
        `${isoSeconds(x.at)} ${x.user} by ${x.by}` +
        (x.bannedUntil
          ? (x.bannedUntil > now ? ` banned until ${isoSeconds(x.bannedUntil)}` : " (ban over)")
          : " kicked") +
        (x.reason ? ` — ${x.reason}` : "")
      ).join("\n");
    },
  },
  broadcast: {
    args: "TEXT…",
    help: "send a server notice to everyone online",
    run: (srv, a) => {
      const r = srv.core.announce("console", a[0]!);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  shutdown: {
    args: "",
    help: "tell every client, drain queues, close the store and exit",
    run: async (srv) => {
      await srv.shutdown("The server is shutting down (operator request)");
      return "Shut down";
    },
  },
};

/** Numbers for /info: connections, memory, uptime, queue depths. */
export function serverInfo(srv: ParleyServer): Record<string, number> {
  const mem = Deno.memoryUsage();
  let queued = 0, deepest = 0;
  for (const s of srv.hub.sessions) {
    queued += s.outbox.bytes;
    deepest = Math.max(deepest, s.outbox.bytes);
  }
  const m = srv.core.messages;
  return {
    connections: srv.hub.sessions.size,
    users_online: srv.hub.byUser.size,
    uptime_s: Math.round((srv.clock.now() - srv.core.startedAt) / 1000),
    rss_mb: Math.round(mem.rss / 1048576),
    heap_mb: Math.round(mem.heapUsed / 1048576),
    queued_bytes: queued,
    max_queue_bytes: deepest,
    store_queue: m.queued,
    messages_stored: m.stored,
    deliveries: m.deliveries,
  };
}

export async function runConsoleLine(srv: ParleyServer, line: string): Promise<string> {
  const t = line.trim();
  if (!t) return "";
  const [, name, rest] = /^\/?(\S+)\s*([\s\S]*)$/.exec(t)!;
  const cmd = Object.hasOwn(CONSOLE_COMMANDS, name!) ? CONSOLE_COMMANDS[name!] : undefined;
  if (!cmd) return `Unknown command /${name}; type /help`;
  const args = splitUsage(cmd.args, rest!);
  if (!args) return `Usage: /${name} ${cmd.args}`.trimEnd();
  try {
    return await cmd.run(srv, args);
  } catch (e) {
    return `Error: ${e instanceof Error ? e.message : String(e)}`;
  }
}
