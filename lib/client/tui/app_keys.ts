/**
 * Key bindings of the TUI: what each key event does to the app (buffer switching, scrolling,
 * search, completion, toggles) and, for the rest, to the input line editor.
 *
 * Bindings: Alt+1…9/0 buffer 1…10, Ctrl-N/Ctrl-P next/previous buffer, Alt+A next unread (highlights
 * first), PgUp/PgDn scroll a page minus one row (PgUp at the top loads older messages: older_pages.ts),
 * Ctrl-F search the scrollback (type to search, Ctrl-F/Up older hit, Enter keep the place, Esc/Ctrl-G
 * back), Ctrl-L full redraw, Tab/Shift-Tab completion, F7/Alt+Shift+B toggle the buffer list,
 * F8/Alt+Shift+M the member list, Ctrl-C clear the line, Enter submit; everything else goes to the
 * line editor (readline keys, Up/Down history).
 * With an empty input line, video keys come first (video_view.ts): q stop, space pause, ←/→ seek,
 * y/n answer a stream offer. Alt+V shows the newest picture of the buffer full size, Esc goes back
 * (picture_view.ts). Alt+S or Ctrl+Up selects a message (select.ts: ↑↓/k j move, r reply, e edit,
 * d delete, + react, h history, Esc leaves). The full list for /help and README: key_table.ts.
 */
import type { AppHost } from "./app_host.ts";
import { argKind, findCommand } from "./parse.ts";
import type { KeyEvent } from "../term/keys.ts";
import { messagePane } from "./select.ts";
import { olderAtTop } from "./older_pages.ts";
import { sanitizeName, stripControls } from "../../common/sanitize.ts";

function runSearch(app: AppHost, older: boolean): void {
  const s = app.search!;
  const { buf } = messagePane(app);
  const hit = buf.search(s.query, older ? s.hit : null);
  s.failed = s.query !== "" && !hit;
  if (hit) {
    s.hit = hit;
    buf.scrollTo(hit);
  } else if (!older) s.hit = null;
}

function searchKey(app: AppHost, ev: KeyEvent): void {
  const s = app.search!;
  const buf = app.state.buffers.current;
  if (ev.type !== "key") {
    s.query += stripControls(ev.text);
    return runSearch(app, false);
  }
  switch (ev.key) {
    case "Backspace":
      s.query = [...s.query].slice(0, -1).join("");
      return runSearch(app, false);
    case "C-f":
    case "Up":
      return runSearch(app, true);
    case "Enter":
      app.search = null;
      return;
    case "Escape":
    case "C-g":
    case "C-c":
      buf.scroll = s.saved;
      app.search = null;
      return;
  }
}

/**
 * A bracketed paste as the editor takes it: its lines kept (sent as one message of several lines, shown
 * as ⏎ in the input), every other control character a space, blank lines at its end dropped.
 */
export function pastedText(raw: string): string {
  const lines = raw.split(/\r\n?|\n/).map(stripControls);
  while (lines.length > 1 && !lines[lines.length - 1]!.trim()) lines.pop();
  return lines.join("\n");
}

export function bindKey(app: AppHost, ev: KeyEvent): void {
  if (ev.type === "key" && (ev.key === "FocusIn" || ev.key === "FocusOut")) {
    return app.state.buffers.setAway(ev.key === "FocusOut"); // what is read follows the window's focus
  }
  if (app.search) return searchKey(app, ev);
  if (app.video.key(ev)) return; // q, space, ←/→ while a video plays; y/n at a stream offer
  if (app.pictures.key(ev)) return; // Alt+V a picture full size; Esc back
  if (app.select.key(ev)) return; // Alt+S/Ctrl+Up select a message: ↑↓ k j, r e d + h, Esc
  const st = app.state;
  const list = st.buffers;
  const ed = list.current.editor;
  if (ev.type === "text" || ev.type === "paste") {
    const text = ev.type === "paste" ? pastedText(ev.text) : ev.text;
    ed.insert(text);
    app.completer.reset();
    return app.edited();
  }
  const k = ev.key;
  const alt = /^M-(\d)$/.exec(k);
  if (alt) {
    list.switchTo(alt[1] === "0" ? 9 : Number(alt[1]) - 1);
    return;
  }
  if (k !== "Tab" && k !== "S-Tab") app.completer.reset();
  switch (k) {
    case "C-n":
      return list.next();
    case "C-p":
      return list.prev();
    case "M-a":
      list.nextUnread();
      return;
    case "PageUp":
    case "PageDown": {
      const { buf, height, measure } = messagePane(app);
      const n = Math.max(1, height - 1);
      if (k === "PageUp") buf.scrollUp(n, height, measure);
      else buf.scrollDown(n, measure);
      if (k === "PageUp") olderAtTop(app, buf, height, measure); // the top in view: the page before it
      return;
    }
    case "C-f": {
      const buf = list.current;
      app.search = { query: "", hit: null, failed: false, saved: buf.scroll };
      return;
    }
    case "C-l":
      return app.invalidate();
    case "F7":
    case "M-B":
      app.showBuffers = !app.showBuffers;
      return;
    case "F8":
    case "M-M":
      app.showMembers = !app.showMembers;
      return;
    case "C-c":
      if (ed.text) ed.set("");
      else st.info(list.current, "Type /quit to leave Parley");
      return;
    case "M-Enter": // a line break inside the message (⏎), as a paste keeps them
      ed.insert("\n");
      return app.edited();
    case "Enter": {
      const line = ed.submit();
      list.current.scroll = null;
      return app.submit(line);
    }
    case "Tab":
    case "S-Tab":
      return complete(app, k === "S-Tab");
  }
  if (ed.key(k)) app.edited();
}

/** Tab (Shift-Tab: `back`) completes the word at the cursor: nicks, commands, rooms, videos, paths. */
function complete(app: AppHost, back: boolean): void {
  const st = app.state;
  const cur = st.buffers.current;
  const ed = cur.editor;
  const members = st.members().map((m) => m.name);
  const known = [...st.rooms.values()].flatMap((r) => r.members.map(sanitizeName)); // offline people too
  const nicks = [...cur.speakers, ...members, ...st.presence.keys(), ...known, ...st.known].filter((n) =>
    n !== st.me
  );
  const commands = app.commands.flatMap((c) => [c.name, ...(c.aliases ?? [])])
    .filter((n) => findCommand(n, app.commands)?.permission !== "admin" || app.backend.role === "admin");
  const before = ed.before;
  const r = app.completer.complete(ed.text, before.length, {
    nicks,
    commands,
    rooms: [...st.rooms.keys()],
    videos: app.videoNames,
    ...(cur.topic ? { topic: cur.topic } : {}),
    ...(app.opts.listPaths ? { paths: app.opts.listPaths } : {}),
    argKind: (name, i) => {
      const spec = findCommand(name, app.commands);
      return spec ? argKind(spec, i) : null;
    },
  }, back);
  if (r) ed.set(r.text, [...new Intl.Segmenter().segment(r.text.slice(0, r.cursor))].length);
  if (r?.choices) st.info(cur, `Choices: ${r.choices.join(" ")} (Tab cycles)`);
}
