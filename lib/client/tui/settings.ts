/**
 * The full-screen client's settings (issue 71.11): one row per setting in `SETTINGS` (its allowed
 * values, default and help), which `/set`, `/help set` and README's settings table
 * (tests/command_docs_test.ts) all read. Pure: the config file's text in (`parseConfig`: every bad
 * line named by its number and skipped, never a throw), the text to save out (`configText`), one
 * value checked (`checkSetting`). Reading and writing the file is session/home_dir.ts's
 * (`configFile`); applying a value is app_settings.ts's.
 *
 * Per-conversation settings (`log`) are kept as `NAME.CONVERSATION` (`log.#proj`, `log.kofi`).
 */

/** What drawing takes from the settings (render.ts, render_messages.ts, layout.ts). */
export interface Look {
  nickColours: number[];
  highlight: number;
  /** Columns of the buffer list and the nick list; null: as wide as the screen gives. */
  buffersWidth: number | null;
  membersWidth: number | null;
}

/** One setting: what `/set` lists and checks. */
export interface SettingSpec {
  name: string;
  /** The allowed values as people read them ("on|off", "auto or 8-40"). */
  values: string;
  default: string;
  help: string;
  /** The value as kept ("ON" → "on"), or null when it is not allowed. */
  check(v: string): string | null;
  /** Set for the current conversation (`NAME.CONVERSATION` in the file), not once for all. */
  perConversation?: boolean;
}

const oneOf = (...vs: string[]) => (v: string) => vs.includes(v.toLowerCase()) ? v.toLowerCase() : null;
const onOff = oneOf("on", "off");
const width = (v: string): string | null => {
  if (v.toLowerCase() === "auto") return "auto";
  return /^\d{1,2}$/.test(v) && Number(v) >= 8 && Number(v) <= 40 ? String(Number(v)) : null;
};

/** Colour names (the terminal's 16), as /set takes them; a number 0-255 is taken too. */
export const COLOUR_NAMES = [
  "black",
  "red",
  "green",
  "yellow",
  "blue",
  "magenta",
  "cyan",
  "white",
  "grey",
  "lightred",
  "lightgreen",
  "lightyellow",
  "lightblue",
  "lightmagenta",
  "lightcyan",
  "brightwhite",
];

/** A colour name or number as its 256-colour index; -1 when it is neither. */
export function colourIndex(v: string): number {
  const i = COLOUR_NAMES.indexOf(v.toLowerCase());
  if (i >= 0) return i;
  return /^\d{1,3}$/.test(v) && Number(v) <= 255 ? Number(v) : -1;
}

const colour = (v: string) => colourIndex(v) >= 0 ? v.toLowerCase() : null;
const colours = (v: string): string | null => {
  const list = v.split(",").map((c) => c.trim()).filter((c) => c);
  return list.length && list.every((c) => colourIndex(c) >= 0) ? list.join(",").toLowerCase() : null;
};

/** The strftime letters `time_format` takes. */
const TIME_LETTERS = "HMSIpdmyYab%";
const timeFormat = (v: string): string | null => {
  if (!v || v.length > 24) return null;
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== "%") continue;
    if (!TIME_LETTERS.includes(v[i + 1] ?? "")) return null;
    i++;
  }
  return v;
};

export const SETTINGS: readonly SettingSpec[] = [
  {
    name: "time_format",
    values: "strftime letters %H %M %S %I %p %d %m %y %Y %a %b",
    default: "%H:%M",
    help: "How message times are shown",
    check: timeFormat,
  },
  {
    name: "nick_colors",
    values: "colours, comma-separated (names or 0-255)",
    default: "green,yellow,blue,magenta,cyan,lightgreen,lightyellow,lightblue,lightmagenta,lightcyan",
    help: "The colours others' nicks are drawn in (one per nick, by its name)",
    check: colours,
  },
  {
    name: "highlight_color",
    values: "a colour name or 0-255",
    default: "yellow",
    help: "The background of the nick of a line that mentions you",
    check: colour,
  },
  {
    name: "buffers",
    values: "on|off",
    default: "on",
    help: "Show the buffer list (F7 toggles)",
    check: onOff,
  },
  {
    name: "buffers_width",
    values: "auto or 8-40",
    default: "auto",
    help: "Columns of the buffer list",
    check: width,
  },
  {
    name: "nicklist",
    values: "on|off",
    default: "on",
    help: "Show the nick list (F8 toggles)",
    check: onOff,
  },
  {
    name: "nicklist_width",
    values: "auto or 8-40",
    default: "auto",
    help: "Columns of the nick list",
    check: width,
  },
  {
    name: "notify",
    values: "auto|none|bell|osc9|osc777",
    default: "auto",
    help: "How a private message or a mention is announced (auto: as the terminal allows, PARLEY_NOTIFY)",
    check: oneOf("auto", "none", "bell", "osc9", "osc777"),
  },
  {
    name: "emoji",
    values: "on|off",
    default: "on",
    help: "Turn :) and :name: into emoji in what you send",
    check: onOff,
  },
  {
    name: "log",
    values: "on|off",
    default: "off",
    help: "This conversation: append each line shown to a plain-text file in the client folder's logs/",
    check: onOff,
    perConversation: true,
  },
];

export function findSetting(name: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.name === name.toLowerCase());
}

/** What `/set NAME VALUE` tells when the value is refused. */
export function refusal(s: SettingSpec, value: string): string {
  return `${s.name} cannot be "${value}": allowed values are ${s.values}`;
}

/** A value to keep, or why not: `name` is `NAME` or `NAME.CONVERSATION` for a per-conversation setting. */
export function checkSetting(
  name: string,
  value: string,
): { key: string; value: string } | { error: string } {
  const dot = name.indexOf(".");
  const base = dot < 0 ? name : name.slice(0, dot);
  const s = findSetting(base);
  if (!s) return { error: `No setting "${name}": /set lists them` };
  if (!!s.perConversation !== dot >= 0) {
    return {
      error: s.perConversation
        ? `${s.name} is set in a conversation`
        : `No setting "${name}": /set lists them`,
    };
  }
  const v = s.check(value.trim());
  if (v === null) return { error: refusal(s, value.trim()) };
  return { key: dot < 0 ? s.name : `${s.name}${name.slice(dot).toLowerCase()}`, value: v };
}

/** The file's settings and its lines that could not be read ("line 3: …"), in order. */
export interface ParsedConfig {
  values: Map<string, string>;
  problems: string[];
  /** Lines kept as they were when the file is saved again (bad ones: fixed by hand, not lost). */
  kept: string[];
}

/** Reads a config file's text: `NAME = VALUE` lines, `#` comments, blank lines. Never throws. */
export function parseConfig(text: string): ParsedConfig {
  const values = new Map<string, string>(), problems: string[] = [], kept: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq < 0) {
      problems.push(`line ${i + 1}: "${line.slice(0, 60)}" is not NAME = VALUE`);
      return void kept.push(raw);
    }
    const r = checkSetting(line.slice(0, eq).trim(), line.slice(eq + 1));
    if ("error" in r) {
      problems.push(`line ${i + 1}: ${r.error}`);
      return void kept.push(raw);
    }
    values.set(r.key, r.value);
  });
  return { values, problems, kept };
}

/** The file's text for `values` (defaults left out) and the lines kept from the last read. */
export function configText(values: ReadonlyMap<string, string>, kept: readonly string[] = []): string {
  const lines = ["# Parley client settings: NAME = VALUE (/set lists them, /help set explains them)"];
  for (const [k, v] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    if (findSetting(k)?.default !== v) lines.push(`${k} = ${v}`);
  }
  return [...lines, ...kept].join("\n") + "\n";
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `ts` in local time through a checked `time_format`. */
export function formatTimeWith(format: string, ts: number): string {
  const d = new Date(ts), two = (n: number) => String(n).padStart(2, "0");
  const letter: Record<string, () => string> = {
    H: () => two(d.getHours()),
    M: () => two(d.getMinutes()),
    S: () => two(d.getSeconds()),
    I: () => two(d.getHours() % 12 || 12),
    p: () => (d.getHours() < 12 ? "AM" : "PM"),
    d: () => two(d.getDate()),
    m: () => two(d.getMonth() + 1),
    y: () => two(d.getFullYear() % 100),
    Y: () => String(d.getFullYear()),
    a: () => DAYS[d.getDay()]!,
    b: () => MONTHS[d.getMonth()]!,
    "%": () => "%",
  };
  return format.replace(/%(.)/g, (_, c: string) => letter[c]?.() ?? c);
}
