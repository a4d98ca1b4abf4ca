/**
 * The control user `*parley` (issue 72, as soju's BouncerServ and ZNC's `*status`): commands for what
 * IRC has no verb for, each answered by NOTICEs from it — help (and how names map), fingerprint,
 * verify, trust, devices, files, accept, reject, expire, edit, delete, react, info, blocks, block, unblock,
 * outbox. mapping.ts sends it
 * the texts of `PRIVMSG *parley`.
 */
import { BackendError, capability } from "../backend.ts";
import type { IrcConn } from "./conn.ts";
import { controlNotice } from "./events.ts";
import { BROADCAST_CHANNEL, nickOf, parleyTarget, userOf } from "./names.ts";
import { durationText, isoSeconds, parseDuration } from "../../common/parse_time.ts";
import type { FaceHost } from "./face_host.ts";

type Say = (text: string) => void;
type Run = (f: FaceHost, args: string[], say: Say) => Promise<void> | void;

const user = (nick: string | undefined): string => {
  const u = nick ? userOf(nick) : null;
  if (!u) throw new BackendError("usage", `"${nick ?? ""}" is not a user's nick`);
  return u;
};

/** The commands: usage, help, and what each does. */
export const CONTROL: Record<string, { usage: string; help: string; run: Run }> = {
  help: { usage: "", help: "this list, and how Parley names map to IRC", run: (_f, _a, say) => help(say) },
  fingerprint: {
    usage: "[NICK]",
    help: "a contact's safety number (yours without NICK)",
    run: async (f, [n], say) => {
      const fp = await f.backend.fingerprint(n ? user(n) : undefined);
      say(
        `${nickOf(fp.user)}: ${fp.safetyNumber ?? "unknown"} (${fp.verified ? "verified" : "not verified"}${
          fp.changed ? ", KEY CHANGED" : ""
        })`,
      );
    },
  },
  verify: {
    usage: "NICK [NUMBER]",
    help: "marks a contact's key verified after comparing the safety number",
    run: async (f, [n, ...num], say) => {
      const fp = await f.backend.verify(user(n), num.length ? num.join("") : undefined);
      say(`${nickOf(fp.user)} verified: ${fp.safetyNumber}`);
    },
  },
  trust: {
    usage: "NICK",
    help: "accepts a contact's changed key without verifying it",
    run: async (f, [n], say) => {
      if (!f.backend.trust) throw new BackendError("unsupported", "This client cannot trust keys");
      const fp = await f.backend.trust(user(n));
      say(`${nickOf(fp.user)} trusted: ${fp.safetyNumber}`);
    },
  },
  devices: {
    usage: "",
    help: "your account's devices, each key's fingerprint, and which one this is",
    run: async (f, _a, say) => {
      if (!f.backend.devices) throw new BackendError("unsupported", "This client cannot list devices");
      const list = await f.backend.devices();
      if (!list.length) return say("No devices yet (keys are published at the first login with a folder)");
      for (const d of list) {
        say(
          `${d.device} ${d.name || "-"} added ${isoSeconds(d.created)} key ${d.fingerprint ?? "none yet"}${
            d.current ? " (this device)" : ""
          }`,
        );
      }
    },
  },
  files: {
    usage: "",
    help: "file offers (numbered for accept) and transfers",
    run: async (f, _a, say) => {
      const list = await capability(f.backend, "files").list();
      if (!list.length) return say("No files");
      for (const e of list) {
        say(`${e.n ?? "-"} ${e.direction} ${nickOf(e.peer)} ${e.state} ${e.size} ${e.name}`);
      }
    },
  },
  accept: {
    usage: "[N]",
    help: "accepts file offer N (default the oldest) and saves it",
    run: async (f, [n], say) => {
      const r = await capability(f.backend, "files").accept(n ? Number(n) : undefined);
      say(`Saved ${r.name} (${r.size} bytes) from ${nickOf(r.from)} to ${r.path}`);
    },
  },
  reject: {
    usage: "[N]",
    help: "refuses file offer N",
    run: async (f, [n], say) =>
      say(`Refused ${(await capability(f.backend, "files").reject(n ? Number(n) : undefined)).name}`),
  },
  expire: {
    usage: "NICK|#ROOM TIME|off",
    help: "messages there disappear TIME after they are sent (30s, 10m, 1d), or no longer",
    run: async (f, [where, time], say) => {
      const t = where ? parleyTarget(where) : null;
      if (!t || t.kind === "broadcast" || !time) {
        throw new BackendError("usage", "Usage: expire NICK|#ROOM TIME|off");
      }
      if (!f.backend.changes) throw new BackendError("unsupported", "No disappearing messages here");
      const s = time === "off" ? 0 : parseDuration(time) / 1000;
      await f.backend.changes.setExpiry(t, s);
      say(
        s
          ? `Messages in ${where} disappear ${durationText(s)} after they are sent`
          : `Messages in ${where} stay`,
      );
    },
  },
  edit: {
    usage: "MSGID TEXT",
    help: "edits your message MSGID (its msgid tag)",
    run: async (f, [mid, ...words], say) => {
      if (!mid || !words.length || !f.backend.changes) {
        throw new BackendError("usage", "Usage: edit MSGID TEXT");
      }
      await f.backend.changes.changeMessage(mid, { kind: "edit", text: words.join(" ") });
      say(`Edited ${mid}`);
    },
  },
  delete: {
    usage: "MSGID",
    help: "deletes your message MSGID for everyone",
    run: async (f, [mid], say) => {
      if (!mid || !f.backend.changes) throw new BackendError("usage", "Usage: delete MSGID");
      await f.backend.changes.changeMessage(mid, { kind: "delete" });
      say(`Deleted ${mid}`);
    },
  },
  react: {
    usage: "MSGID EMOJI",
    help: "reacts to message MSGID (again: takes it back)",
    run: async (f, [mid, emoji], say) => {
      if (!mid || !emoji || !f.backend.changes) throw new BackendError("usage", "Usage: react MSGID EMOJI");
      await f.backend.changes.react(mid, emoji);
      say(`Reacted ${emoji} to ${mid}`);
    },
  },
  info: {
    usage: "",
    help: "this session: server, device, connection, queues, versions",
    run: (f, _a, say) => {
      const rows = f.backend.info?.() ?? [["server", f.backend.server]];
      for (const [k, v] of rows) say(`${k}: ${v}`);
    },
  },
  blocks: {
    usage: "",
    help: "the users you blocked",
    run: async (f, _a, say) => {
      const list = await capability(f.backend, "blocks").list();
      say(list.length ? `Blocked: ${list.map(nickOf).join(" ")}` : "Nobody is blocked");
    },
  },
  block: {
    usage: "NICK",
    help: "drops what NICK sends, unseen (they are not told)",
    run: async (f, [n], say) =>
      say(`Blocked: ${(await capability(f.backend, "blocks").block(user(n))).map(nickOf).join(" ")}`),
  },
  unblock: {
    usage: "NICK",
    help: "takes NICK off the block list",
    run: async (f, [n], say) => {
      const list = await capability(f.backend, "blocks").unblock(user(n));
      say(list.length ? `Blocked: ${list.map(nickOf).join(" ")}` : "Nobody is blocked");
    },
  },
  outbox: {
    usage: "",
    help: "your messages still waiting to be sent",
    run: async (f, _a, say) => {
      const list = (await f.backend.outbox?.list()) ?? [];
      if (!list.length) return say("The outbox is empty");
      for (const e of list) say(`${e.n} ${e.failed ? `failed (${e.failed})` : "waiting"}: ${e.text}`);
    },
  },
};

function help(say: Say): void {
  say(`Commands (/msg *parley COMMAND):`);
  for (const [name, c] of Object.entries(CONTROL)) {
    say(`  ${name}${c.usage ? " " + c.usage : ""} — ${c.help}`);
  }
  say(
    `Names: a direct message is a query (/msg NICK), a room the channel #ROOM, broadcast ${BROADCAST_CHANNEL}.`,
  );
  say(`A name starting with a digit gets "_" before it (7up is _7up); a "." is "|" (a.b is a|b).`);
}

/** A `PRIVMSG *parley TEXT`: its command run, its answers and refusals as NOTICEs. */
export async function controlCommand(f: FaceHost, c: IrcConn, text: string): Promise<void> {
  const say: Say = (t) => {
    for (const l of controlNotice(f.nick, t)) c.send(l);
  };
  const [name = "", ...args] = text.trim().split(/\s+/);
  const cmd = CONTROL[name.toLowerCase()];
  if (!cmd) return say(`Unknown command "${name}"; /msg *parley help lists them`);
  try {
    await cmd.run(f, args, say);
  } catch (e) {
    if (!(e instanceof BackendError) && !(e instanceof Error && /duration/.test(e.message))) throw e;
    say(e.message);
  }
}
