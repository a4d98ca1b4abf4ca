/**
 * Rule 3, one description per command: README's command tables (and its key table, from the TUI's `KEYS`,
 * and its settings table, from settings.ts's `SETTINGS` that `/set` and `/help set` read) are rendered here from the
 * tables the programs run — the TUI's `COMMANDS` (which also drive `/help` and Tab completion), the
 * scripted client's commander program (`cliProgram`, which prints `--help`) and the server console's
 * `CONSOLE_COMMANDS` — and must equal README's rows; so must its server option table, from the
 * `SERVER_FLAGS` that server.ts parses and prints as `--help` (and every option `--help` prints is in it). Adding a command is one row in its table; this
 * test then prints the README table to paste (or run with PARLEY_WRITE_README=1 to write it).
 */
import assert from "node:assert/strict";
import type { Command } from "commander";
import { cliProgram } from "../lib/client/cli/main.ts";
import { COMMANDS } from "../lib/client/tui/commands.ts";
import { helpLines } from "../lib/client/tui/parse.ts";
import { KEYS } from "../lib/client/tui/key_table.ts";
import { settingRows } from "../lib/client/tui/commands_settings.ts";
import { CONSOLE_COMMANDS } from "../lib/server/console.ts";
import { flagUsage, SERVER_FLAGS } from "../lib/server/flags.ts";
import { runProgram } from "./helpers.ts";

const README = new URL("../README.md", import.meta.url);
type Row = string[];

const code = (s: string) => "`" + s + "`";
const cell = (s: string) => s.replace(/\|/g, "\\|");

export function tuiRows(): Row[] {
  return COMMANDS.map((c) => {
    const also = c.aliases?.length ? ` (also ${c.aliases.map((a) => "/" + a).join(", ")})` : "";
    return [
      code(`/${c.name}${c.usage ? " " + c.usage : ""}`),
      `${c.help}${also}${c.permission === "admin" ? " (admins)" : ""}`,
    ];
  });
}

function argText(a: { name(): string; required: boolean; variadic: boolean }): string {
  const n = a.name().includes("|") ? a.name() : a.name().toUpperCase();
  const v = n + (a.variadic ? "…" : "");
  return a.required ? v : `[${v}]`;
}

function optText(o: { long?: string; flags: string; hidden?: boolean }): string {
  const m = /<([^>]+)>/.exec(o.flags);
  return `[${o.long}${m ? " " + m[1]!.toUpperCase() : ""}]`;
}

/** The first example line of a command's `--help`. */
function firstExample(c: Command, help: () => string): string {
  const lines = help().split("\n");
  const i = lines.findIndex((l) => l.trim() === "Examples:");
  assert.ok(i >= 0, `parley ${c.name()} --help has no examples`);
  return lines[i + 1]!.trim();
}

export function cliRows(): Row[] {
  let captured = "";
  const program = cliProgram({
    env: { get: () => undefined },
    out: (l) => (captured += l + "\n"),
    err: (l) => (captured += l + "\n"),
    prompts: {},
    version: "0",
  });
  const rows: Row[] = [];
  const walk = (cmd: Command, prefix: string) => {
    for (const s of cmd.commands) {
      if (s.commands.length) {
        walk(s, `${prefix}${s.name()} `);
        continue;
      }
      const usage = [
        prefix + s.name(),
        ...s.registeredArguments.map(argText),
        ...s.options.filter((o) => !o.hidden).map(optText),
      ].join(" ");
      const example = firstExample(s, () => {
        captured = "";
        s.outputHelp();
        return captured;
      });
      rows.push([`${code(usage)} — ${s.description()}`, code(example)]);
    }
  };
  walk(program, "");
  return rows;
}

export function consoleRows(): Row[] {
  return Object.entries(CONSOLE_COMMANDS).map((
    [n, c],
  ) => [code(`/${n}${c.args ? " " + c.args : ""}`), c.help]);
}

/** README's server options: the flag, what it does, its default (the rows --help prints). */
export function flagRows(): Row[] {
  return SERVER_FLAGS.map((
    f,
  ) => [code(flagUsage(f)), f.help, f.def !== undefined ? code(String(f.def)) : ""]);
}

/** README's key table: the TUI's keys (key_table.ts, which `/help` lists too). */
export function keyRows(): Row[] {
  return KEYS.map(([k, d]) => [k, d]);
}

/** README's settings table: the rows `/help set` lists (settings.ts's `SETTINGS`, issue 71.11). */
export function settingsRows(): Row[] {
  return settingRows().map(([n, v, d, h]) => [code(n), h, v, code(d)]);
}

const TABLES: { id: string; head: Row; rows: () => Row[] }[] = [
  { id: "console", head: ["Command", "Does"], rows: consoleRows },
  { id: "tui", head: ["Command", "Does"], rows: tuiRows },
  { id: "keys", head: ["Key", "Does"], rows: keyRows },
  { id: "settings", head: ["Setting", "Does", "Values", "Default"], rows: settingsRows },
  { id: "cli", head: ["Command", "Example"], rows: cliRows },
  { id: "flags", head: ["Option", "Meaning", "Default"], rows: flagRows },
];

function markdown(head: Row, rows: Row[]): string {
  const all = [head, ...rows.map((r) => r.map(cell))];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  return [line(head), `| ${w.map((n) => "-".repeat(n)).join(" | ")} |`, ...all.slice(1).map(line)].join("\n");
}

/** The rows of README's table between `<!-- commands:ID -->` and `<!-- /commands:ID -->`. */
function readmeRows(text: string, id: string): Row[] {
  const m = new RegExp(`<!-- commands:${id} -->\\n([\\s\\S]*?)\\n<!-- /commands:${id} -->`).exec(text);
  assert.ok(m, `README has no <!-- commands:${id} --> section`);
  return m[1]!.split("\n").filter((l) => l.startsWith("|")).slice(2).map((l) =>
    l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"))
  );
}

Deno.test("README's command tables are the ones the console, the TUI and the CLI run", async () => {
  let text = await Deno.readTextFile(README);
  if (Deno.env.get("PARLEY_WRITE_README") === "1") {
    for (const t of TABLES) {
      text = text.replace(
        new RegExp(`(<!-- commands:${t.id} -->\\n)[\\s\\S]*?(\\n<!-- /commands:${t.id} -->)`),
        (_, a, b) => `${a}\n${markdown(t.head, t.rows())}\n${b}`,
      );
    }
    await Deno.writeTextFile(README, text);
  }
  for (const t of TABLES) {
    assert.deepEqual(
      readmeRows(text, t.id),
      t.rows(),
      `README's ${t.id} table differs; it should read:\n${markdown(t.head, t.rows())}`,
    );
  }
});

Deno.test("the TUI's /help and completion come from the same COMMANDS rows as README", () => {
  const help = [...helpLines("admin"), ...helpLines("admin", "keys")].join("\n");
  for (const c of COMMANDS) assert.ok(help.includes(`/${c.name}`), `/help lacks /${c.name}`);
  for (const [k, d] of KEYS) assert.ok(help.includes(`${k.padEnd(24)} ${d}`), `/help lacks the key ${k}`);
  // The two commands errors tell users to run exist in the TUI (issue 11).
  assert.ok(COMMANDS.some((c) => c.name === "trust"));
  assert.ok(COMMANDS.some((c) => c.name === "room" && c.usage.includes("kick")));
});

Deno.test("README's server option table lists every option server.ts --help prints (issue 34.17)", async () => {
  const r = await runProgram("server.ts", ["--help"]);
  assert.equal(r.code, 0, r.err);
  const opts = r.out.slice(r.out.indexOf("\nOptions:\n"), r.out.indexOf("\nExamples:\n"));
  const printed = [...opts.matchAll(/^ {2}(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
  assert.ok(printed.includes("--store") && printed.includes("--file-ttl"), opts);
  const readme = readmeRows(await Deno.readTextFile(README), "flags").map((row) => row[0]!);
  for (const o of printed) {
    assert.ok(
      readme.some((c) => c.startsWith("`" + o + "`") || c.startsWith("`" + o + " ")),
      `README lacks ${o}`,
    );
  }
});

Deno.test("every flag server.ts reads has a row in SERVER_FLAGS (so --help, parsing and README know it)", async () => {
  // Every function of the server's start (lib/server/launch*.ts, since issue 70) that reads flags reads
  // them as `f[…]`, `f.…` or `on(…)`.
  const files = ["launch.ts", "launch_open.ts", "launch_offline.ts", "launch_fds.ts"];
  const src = (await Promise.all(
    files.map((f) => Deno.readTextFile(new URL(`../lib/server/${f}`, import.meta.url))),
  )).join("\n");
  const read = [...src.matchAll(/\bf\["([a-z-]+)"\]|\bf\.([a-z]+)\b|\bon\("([a-z-]+)"\)/g)].map((m) =>
    m[1] ?? m[2] ?? m[3]!
  );
  assert.ok(read.includes("file-ttl") && read.includes("console"), read.join(" "));
  const rows = new Set(SERVER_FLAGS.map((f) => f.name));
  for (const name of read) {
    assert.ok(rows.has(name), `server.ts reads --${name}, which has no SERVER_FLAGS row`);
  }
});
