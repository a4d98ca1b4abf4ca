/**
 * Bell and desktop notifications as escape strings. Pure.
 *
 * Contract: `notification(mode, title, body)` returns what to write for a DM or a mention: always
 * a bell (BEL), plus an OSC 9 (iTerm2, Windows Terminal, kitty, foot…) or OSC 777 (rxvt, VTE/GNOME,
 * foot, WezTerm) notification for those modes. Title and body are stripped of control characters
 * and `;`-free where the format needs it, and cut to a sane length, so untrusted text can never end
 * the sequence early. `detectNotifyMode(env)` picks a mode from terminal environment variables; the
 * caller passes them in (nothing here reads the environment).
 */
import { stripControls } from "../../common/sanitize.ts";
import { truncate } from "./width.ts";

/** How a DM or a mention is announced: nothing, a bell, or a bell plus an OSC 9 or OSC 777 notification. */
export type NotifyMode = "none" | "bell" | "osc9" | "osc777";

const clean = (s: string, n: number) => truncate(stripControls(s).replace(/\s+/g, " ").trim(), n);

export function notification(mode: NotifyMode, title: string, body: string): string {
  if (mode === "none") return "";
  const bell = "\x07";
  if (mode === "osc9") return bell + `\x1b]9;${clean(`${title}: ${body}`, 200)}\x1b\\`;
  if (mode === "osc777") {
    return bell + `\x1b]777;notify;${clean(title, 60).replaceAll(";", ",")};${clean(body, 200)}\x1b\\`;
  }
  return bell;
}

/** The notification mode for this terminal: `PARLEY_NOTIFY` when valid, else guessed from the terminal's variables (bell inside tmux or screen). */
export function detectNotifyMode(env: Record<string, string | undefined>): NotifyMode {
  if (env.PARLEY_NOTIFY && ["none", "bell", "osc9", "osc777"].includes(env.PARLEY_NOTIFY)) {
    return env.PARLEY_NOTIFY as NotifyMode;
  }
  if (env.TMUX || env.STY) return "bell"; // multiplexers swallow OSC notifications
  const prog = env.TERM_PROGRAM ?? "";
  if (["iTerm.app", "WezTerm", "ghostty"].includes(prog) || env.WT_SESSION || env.KITTY_WINDOW_ID) {
    return "osc9";
  }
  if (env.VTE_VERSION || (env.TERM ?? "").startsWith("rxvt") || (env.TERM ?? "").startsWith("foot")) {
    return "osc777";
  }
  return "bell";
}
