/**
 * Application state → a `Screen` (title bar, buffer list, message pane, member list, status line,
 * input line with cursor). Pure: the same state and size always give the same screen.
 *
 * Contract: every string from the network is drawn only after `sanitize` (done when lines and names
 * enter the state); `render` never writes past its rectangle and puts the cursor in the input line.
 */
import type { Role, Status } from "../backend.ts";
import type { Line } from "./buffers.ts";
import type { BufferList } from "./buffer_list.ts";
import { ago } from "./commands.ts";
import { type Layout, layout } from "./layout.ts";
import type { Look } from "./settings.ts";
import { drawMessages, nickColour, OWN_NICK_STYLE, SEP_STYLE } from "./render_messages.ts";
import { BOLD, DIM, REVERSE, Screen, style } from "./screen.ts";
import { fit, graphemes, graphemeWidth, textWidth, truncate } from "./width.ts";

export interface MemberEntry {
  name: string;
  status: Status | "offline";
  /** An admin of the room on screen (drawn @NAME, as `/names` says it); a server admin is not marked. */
  admin: boolean;
  since?: number;
}

export interface ViewState {
  server: string;
  user: string;
  role: Role;
  myStatus: Status;
  connection: "connecting" | "online" | "offline";
  encryption: { state: "on" | "off" | "warning"; detail?: string };
  buffers: BufferList;
  showBuffers: boolean;
  showMembers: boolean;
  members: MemberEntry[];
  now: number;
  formatTime(ts: number): string;
  /** The settings' colours and side widths (app_settings.ts); none: the defaults. */
  look?: Look;
  /** Extra status-line items: typing, transfers. */
  extras: string[];
  search: { query: string; hit: Line | null; failed: boolean } | null;
  /** Selection mode (select.ts): the selected line, drawn as a search hit is, and the banner rows. */
  selected?: Line | null;
  banner?: string[];
  /** While a video plays: the pane is left blank for it, its overlay line on the pane's last row. */
  video?: { status: string } | null;
  /** Told where pictures are drawn in the message pane (picture_view.ts). */
  placePicture?: (line: Line, row: number, col: number) => void;
}

const BAR = style(15, 4);
const BAR_BOLD = style(15, 4, BOLD);

function drawTitle(s: Screen, lay: Layout, st: ViewState): void {
  s.fill(0, 0, lay.cols, BAR);
  const conn = st.connection;
  const enc = st.encryption.state === "on"
    ? "E2E on"
    : st.encryption.state === "off"
    ? "E2E OFF"
    : `E2E warning${st.encryption.detail ? ": " + st.encryption.detail : ""}`;
  const parts = [" Parley", st.server, `${st.user}${st.role === "admin" ? " (admin)" : ""}`, conn, enc];
  const cur = st.buffers.current; // a room's topic ends the bar
  if (cur.topic) parts.push(`${cur.label}: ${cur.topic}`);
  let col = 0;
  parts.forEach((p, i) => {
    if (i) col += s.put(0, col, " │ ", BAR, lay.cols - col);
    const warn = (i === 3 && conn !== "online") || (i === 4 && st.encryption.state !== "on");
    col += s.put(0, col, p, warn ? style(11, 1, BOLD) : i === 0 ? BAR_BOLD : BAR, lay.cols - col);
  });
}

function drawBufferList(s: Screen, lay: Layout, st: ViewState): void {
  const r = lay.buffers!;
  const list = st.buffers;
  for (let y = 0; y < r.height; y++) {
    s.fill(r.row + y, r.col, r.width);
    s.put(r.row + y, r.col + r.width, "│", SEP_STYLE, 1);
  }
  // Keep the active buffer visible when the list is longer than the pane.
  const first = Math.max(0, list.active - r.height + 1);
  for (let i = first; i < list.buffers.length && i - first < r.height; i++) {
    const b = list.buffers[i]!;
    const y = r.row + i - first;
    // "5" unread; "2!" all highlights; "5,2!" five unread of which two highlight.
    const count = !b.unread
      ? ""
      : !b.highlights
      ? `${b.unread}`
      : b.highlights === b.unread
      ? `${b.unread}!`
      : `${b.unread},${b.highlights}!`;
    const active = i === list.active;
    const quiet = b.muted && !b.highlights; // muted: drawn dim, its unread count too
    const nameSt = active
      ? REVERSE
      : quiet
      ? style(8)
      : b.highlights
      ? style(13, -1, BOLD)
      : b.unread
      ? style(11)
      : 0;
    const name = fit(`${i + 1}.${b.label}`, r.width - (count ? textWidth(count) + 1 : 0));
    const used = s.put(y, r.col, name, nameSt, r.width);
    if (count) {
      s.put(y, r.col + used, " ", nameSt, 1);
      const st = quiet ? style(8) : b.highlights ? style(13, -1, BOLD) : style(11);
      s.put(y, r.col + used + 1, count, st, r.width - used - 1);
    }
  }
}

function drawMembers(s: Screen, lay: Layout, st: ViewState): void {
  const r = lay.members!;
  for (let y = 0; y < r.height; y++) {
    s.put(r.row + y, r.col - 1, "│", SEP_STYLE, 1);
    s.fill(r.row + y, r.col, r.width);
  }
  const groups: [string, MemberEntry["status"], number][] = [
    ["Free", "free", style(2, -1, BOLD)],
    ["Busy", "busy", style(3, -1, BOLD)],
    ["Offline", "offline", style(8, -1, BOLD)],
  ];
  let y = r.row;
  const end = r.row + r.height;
  for (const [title, status, st0] of groups) {
    const ms = st.members.filter((m) => m.status === status);
    if (!ms.length || y >= end) continue;
    s.put(y++, r.col, fit(`${title} (${ms.length})`, r.width), st0, r.width);
    for (const m of ms) {
      if (y >= end) break;
      const age = m.since !== undefined && status !== "offline" ? ago(st.now, m.since) : "";
      const nameW = r.width - 1 - (age ? age.length + 1 : 0);
      const nm = fit((m.admin ? "@" : "") + m.name, nameW);
      const nst = status === "offline"
        ? style(8, -1, DIM)
        : m.name === st.user
        ? OWN_NICK_STYLE
        : style(nickColour(m.name, st.look?.nickColours));
      s.put(y, r.col + 1, nm, nst, nameW);
      if (age) s.put(y, r.col + r.width - age.length, age, style(8), age.length);
      y++;
    }
  }
}

function drawStatus(s: Screen, lay: Layout, st: ViewState): void {
  const row = lay.status.row;
  s.fill(row, 0, lay.cols, BAR);
  const cur = st.buffers.current;
  const act = st.buffers.buffers
    .map((b, i) => (b.unread && (!b.muted || b.highlights) ? `${i + 1}${b.highlights ? "!" : ""}` : ""))
    .filter(Boolean);
  const items = [
    `[${st.formatTime(st.now)}]`,
    `[${st.user}${st.myStatus === "busy" ? " (busy)" : ""}]`,
    `[${st.buffers.active + 1}:${cur.label}]`,
    act.length ? `[Act: ${act.join(",")}]` : "",
    ...st.extras,
  ].filter(Boolean);
  s.put(row, 0, items.join(" "), BAR, lay.cols);
  if (cur.scroll) {
    const more = ` -MORE(${cur.linesBelow()})-`;
    s.put(row, Math.max(0, lay.cols - more.length), more, BAR_BOLD);
  }
}

/** The part of `text` that fits `width` cells while keeping cell `cursor` visible. */
function inputWindow(text: string, cursor: number, width: number): { shown: string; cursorCol: number } {
  const start = Math.max(0, cursor - width + 1);
  let col = 0;
  let shown = "";
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (col >= start && col + w - start <= width) shown += g;
    col += w;
  }
  return { shown, cursorCol: cursor - start };
}

function drawInput(s: Screen, lay: Layout, st: ViewState): void {
  const row = lay.input.row;
  s.fill(row, 0, lay.cols);
  const cur = st.buffers.current;
  if (st.search) {
    const prompt = st.search.failed ? "(failed search) " : "(search) ";
    const p = s.put(row, 0, prompt, style(11, -1, BOLD));
    const q = truncate(st.search.query, lay.cols - p - 1);
    s.put(row, p, q);
    s.cursorRow = row;
    s.cursorCol = Math.min(lay.cols - 1, p + textWidth(q));
    return;
  }
  const prompt = truncate(`[${cur.label}] `, Math.floor(lay.cols / 3));
  const p = s.put(row, 0, prompt, style(6));
  const ed = cur.editor;
  // A pasted text's line breaks show as ⏎ (one cell each); what is sent keeps them.
  const shown = (t: string) => t.replaceAll("\n", "⏎");
  const win = inputWindow(shown(ed.text), textWidth(shown(ed.before)), lay.cols - p);
  s.put(row, p, win.shown, 0, lay.cols - p);
  s.cursorRow = row;
  s.cursorCol = Math.min(lay.cols - 1, p + win.cursorCol);
}

/** Draws the state; `reuse` (a screen no longer needed, same size) avoids allocating a new one. */
export function render(st: ViewState, cols: number, rows: number, reuse?: Screen | null): Screen {
  const banner = st.banner ?? [];
  const lay = layout(
    cols,
    rows,
    st.showBuffers,
    st.showMembers,
    textWidth(st.formatTime(st.now)),
    banner.length,
    st.look,
  );
  const s = reuse && reuse.cols === cols && reuse.rows === rows ? reuse : new Screen(cols, rows);
  if (s === reuse) s.clear();
  if (lay.tooSmall) {
    s.put(0, 0, "Terminal too small");
    s.cursorVisible = false;
    return s;
  }
  drawTitle(s, lay, st);
  if (lay.buffers) drawBufferList(s, lay, st);
  if (lay.members) drawMembers(s, lay, st);
  if (st.video) {
    const m = lay.messages;
    s.put(m.row + m.height - 1, m.col, st.video.status, style(15, 0), m.width);
  } else {
    drawMessages(s, lay, st.buffers.current, {
      me: st.user,
      formatTime: st.formatTime,
      ...(st.look ? { look: st.look } : {}),
      searchHit: st.search?.hit ?? st.selected ?? null,
      now: st.now,
      ...(st.placePicture ? { placePicture: st.placePicture } : {}),
    });
  }
  drawStatus(s, lay, st);
  if (lay.banner) {
    banner.slice(0, lay.banner.height).forEach((t, i) => s.put(lay.banner!.row + i, 0, t, style(14), cols));
  }
  drawInput(s, lay, st);
  return s;
}

export { layout };
