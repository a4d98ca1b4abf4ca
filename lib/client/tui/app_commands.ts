/**
 * What happens to a submitted input line: text goes to the current conversation, `USER: text`
 * typed in the status buffer to a DM (in a room or query it is text addressing USER), a command runs from the table with a `CommandContext` bound to the buffer it was typed
 * in (its output and errors land there, even if the user switched away meanwhile), and an error
 * (unknown command, usage, permission) is printed and never sent.
 */
import type { ChatMessage, Target } from "../backend.ts";
import type { AppHost } from "./app_host.ts";
import type { ChatBuffer } from "./buffers.ts";
import type { CommandContext } from "./commands.ts";
import { helpLines, parseLine } from "./parse.ts";
import { fileBuffer } from "./chat_events.ts";
import { counted } from "../../common/words.ts";

export function submitLine(app: AppHost, line: string): void {
  const st = app.state;
  const buf = st.buffers.current;
  const p = parseLine(line, {
    role: app.backend.role,
    isUser: (n) => st.isUser(n),
    inConversation: buf.target !== null,
    commands: app.commands,
  });
  switch (p.kind) {
    case "empty":
      return;
    case "error":
      return st.info(buf, p.message, "error");
    case "text": {
      const t = buf.target;
      if (!t) {
        return st.info(
          buf,
          "This is the status buffer: use /msg USER TEXT, /query USER or /join #ROOM",
          "error",
        );
      }
      return app.track(app.sendText(t, p.text), () => {});
    }
    case "dm": {
      const t: Target = { kind: "user", name: p.user };
      st.buffers.ensure("dm", p.user);
      return app.track(app.sendText(t, p.text), () => {});
    }
    case "command": {
      const ctx = commandContext(app, buf);
      const run = Promise.resolve().then(() => p.spec.run(ctx, p.args));
      app.holdInput(run); // what is typed after it acts on the screen the command leaves
      return app.track(run, () => {}, buf);
    }
  }
}

export function commandContext(app: AppHost, buf: ChatBuffer): CommandContext {
  const st = app.state;
  const later = (fn: () => void) => app.later(fn);
  const selected = app.select.target(buf); // taken now: selection mode ends once the command is typed
  return {
    backend: app.backend,
    target: buf.target,
    print: (text, level = "info", hang) =>
      later(() => st.info(buf, text, level === "error" ? "error" : "info", hang)),
    open: (t, focus) =>
      later(() => {
        const b = st.buffers.ensure(t.kind === "room" ? "room" : "dm", t.name ?? "");
        if (focus) st.buffers.focus(b);
      }),
    closeCurrent: () => later(() => st.buffers.close(buf)),
    clearCurrent: () => later(() => buf.clear()),
    bufferLabels: () => st.buffers.buffers.map((b) => b.label),
    showBuffer: (i) => later(() => st.buffers.switchTo(i)),
    moveBuffer: (n) => later(() => st.buffers.move(buf, n)),
    send: (t, text, replyTo) => app.sendText(t, text, replyTo),
    lastMessage: (own) =>
      buf.lines.findLast((l) =>
        (own ? l.kind === "own" : l.kind === "msg" || l.kind === "broadcast") && !!l.mid &&
        (l.seq ?? 0) > 0 && !l.deleted && !l.setting
      ) ?? null,
    selectedMessage: () => selected,
    addMessages: (msgs) => new Promise((shown) => later(() => shown(st.addHistory(msgs)))),
    quit: () => app.quit(),
    get quitWarned() {
      return app.quitWarned;
    },
    set quitWarned(v: boolean) {
      app.quitWarned = v;
    },
    get found() {
      return app.found;
    },
    set found(v: ChatMessage[] | undefined) {
      app.found = v ?? [];
    },
    showMessage: (m) =>
      new Promise((shown) =>
        later(() => {
          st.buffers.focus(st.bufferFor(m));
          shown(app.select.pick(m.mid));
        })
      ),
    now: () => app.clock.now(),
    formatTime: app.formatTime,
    helpLines: (cmd) => helpLines(app.backend.role, cmd, app.commands),
    setOwnStatus: (s) =>
      later(() => {
        const n = st.setMyStatus(s);
        if (n !== null) st.info(buf, `${n ? counted(n, "message") : "Nothing"} arrived while you were busy`);
      }),
    video: app.video,
    savedFile: (path, name, from) => later(() => app.pictures.saved(path, name, fileBuffer(st, from))),
    isUser: (n) => st.isUser(n),
    awayOf: (u) => st.buffers.find("dm", u)?.away ?? null,
    closeTarget: (t) =>
      later(() => {
        const b = st.buffers.find(t.kind === "room" ? "room" : "dm", t.name ?? "");
        if (b) st.buffers.close(b);
      }),
    mutedChanged: (names) => later(() => st.buffers.setMuted(names)),
    highlightsChanged: (words) => later(() => st.setHighlights(words)),
    settings: {
      list: () => app.settings.list(buf),
      set: (n, v) => app.settings.set(buf, n, v),
      outgoing: (text) => app.settings.outgoing(text),
    },
    removeMessage: (mid) => later(() => st.buffers.buffers.forEach((b) => b.removeMessage(mid))),
  };
}
