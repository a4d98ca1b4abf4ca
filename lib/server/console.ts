/**
 * Server console commands (one table: name, arguments, help). `runConsoleLine` turns one typed
 * line into text for the operator; server.ts feeds it stdin lines. Actions run as "console".
 */
import type { ParleyServer } from "./server.ts";
import { isoSeconds } from "../common/parse_time.ts";

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
      ].join("\n");
    },
  },
  kick: {
    args: "USER [BAN_SECONDS] [REASON…]",
    help: "disconnect a user, optionally banning them",
    run: async (srv, a) => {
      if (!a[0]) return "Usage: /kick USER [BAN_SECONDS] [REASON…]";
      const secs = a[1] && /^\d+$/.test(a[1]) ? Number(a[1]) : undefined;
      const reason = a.slice(secs === undefined ? 1 : 2).join(" ") || undefined;
      const r = await srv.core.kick("console", a[0], secs, reason);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  unban: {
    args: "USER",
    help: "lift a ban",
    run: async (srv, a) => {
      if (!a[0]) return "Usage: /unban USER";
      const r = await srv.core.unban("console", a[0]);
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  unlock: {
    args: "USER",
    help: "lift a login lockout",
    run: async (srv, a) => {
      if (!a[0]) return "Usage: /unlock USER";
      const r = await srv.core.unlock("console", a[0]);
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
      if (!a[0]) return "Usage: /grant USER";
      const r = await srv.core.setRole("console", a[0], "admin");
      return r.ok ? r.text : `Error: ${r.msg}`;
    },
  },
  revoke: {
    args: "USER",
    help: "take a user's admin role (not the last admin's)",
    run: async (srv, a) => {
      if (!a[0]) return "Usage: /revoke USER";
      const r = await srv.core.setRole("console", a[0], "user");
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
      if (!a.length) return "Usage: /broadcast TEXT…";
      const r = srv.core.announce("console", a.join(" "));
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
  const [name, ...args] = t.replace(/^\//, "").split(/\s+/);
  const cmd = Object.hasOwn(CONSOLE_COMMANDS, name!) ? CONSOLE_COMMANDS[name!] : undefined;
  if (!cmd) return `Unknown command /${name}; type /help`;
  try {
    return await cmd.run(srv, args);
  } catch (e) {
    return `Error: ${e instanceof Error ? e.message : String(e)}`;
  }
}
