/**
 * Release executables: `deno run … tools/compile.ts server|client [--target T]... [--all]` runs
 * `deno compile` once per target with the permission flags of the matching deno.json task baked in
 * (the narrowest set the program runs with), the assets the program loads at run time included
 * (server: the password-hashing worker module and the sample video), and writes
 * `dist/parley-server-<target>[.exe]` or `dist/parley-<target>[.exe]`, then `dist/SHA256SUMS` over
 * every executable in dist/. `tools/compile.ts sums` only rewrites the checksums.
 *
 * `deno compile` downloads its runtime (denort) for a target the first time; without internet that
 * fails, and this tool then exits 1 with one sentence saying so. `DENORT_BIN` (a denort binary for
 * the one target being built) is passed through the environment: Deno reads it instead of
 * downloading. Everything but `main` is a small function so tests can call it without compiling.
 */
import { VERSION } from "../lib/common/version.ts";
import { sha256Hex } from "../lib/common/bytes.ts";
import { counted } from "../lib/common/words.ts";

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
export type Target = (typeof TARGETS)[number];
export type Program = "server" | "client";

export const USAGE = `Usage: tools/compile.ts server|client [--target TARGET]... [--all]
       tools/compile.ts sums
Builds dist/parley-server-<target> or dist/parley-<target> (.exe on Windows) and dist/SHA256SUMS.
Without --target or --all, builds for this machine. Targets:
  ${TARGETS.join("\n  ")}
Offline: set DENORT_BIN to a denort binary for the (single) target.`;

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type Parsed =
  | { mode: "help" }
  | { mode: "sums" }
  | { mode: "compile"; program: Program; targets: Target[] };

function isTarget(t: string): t is Target {
  return (TARGETS as readonly string[]).includes(t);
}

/** Parses the tool's arguments; `host` is the target used when none is named. */
export function parseCompileArgs(argv: string[], host: string): Parsed {
  const targets: Target[] = [];
  let program: Program | "sums" | undefined;
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue; // `deno task compile:server -- --target …` may pass it through
    if (a === "--help" || a === "-h") return { mode: "help" };
    if (a === "--all") all = true;
    else if (a === "--target" || a.startsWith("--target=")) {
      const t = a === "--target" ? argv[++i] : a.slice("--target=".length);
      if (!t) throw new UsageError("--target needs a value");
      if (!isTarget(t)) throw new UsageError(`Unknown target "${t}"; use one of ${TARGETS.join(", ")}`);
      if (!targets.includes(t)) targets.push(t);
    } else if (a.startsWith("-")) throw new UsageError(`Unknown option "${a}"`);
    else if (program) throw new UsageError(`Unexpected argument "${a}"`);
    else if (a === "server" || a === "client" || a === "sums") program = a;
    else throw new UsageError(`Say what to build: server or client, not "${a}"`);
  }
  if (program === "sums") {
    if (all || targets.length) throw new UsageError("sums takes no targets");
    return { mode: "sums" };
  }
  if (!program) throw new UsageError("Say what to build: server or client");
  if (all && targets.length) throw new UsageError("Use either --all or --target, not both");
  if (all) return { mode: "compile", program, targets: [...TARGETS] };
  if (targets.length) return { mode: "compile", program, targets };
  if (!isTarget(host)) throw new UsageError(`This machine (${host}) is not a release target; pass --target`);
  return { mode: "compile", program, targets: [host] };
}

/** The permission flags (`--allow-*`, `--deny-*`) of a `deno run … FILE` task line. */
export function permissionFlags(task: string): string[] {
  return task.split(/\s+/).filter((w) => /^--(allow|deny)-[a-z-]+(=\S+)?$/.test(w));
}

/** The entry file, deno.json task and run-time assets of each program. */
export const PROGRAMS: Record<Program, { entry: string; task: string; include: string[]; stem: string }> = {
  server: {
    entry: "server.ts",
    task: "server",
    // `new Worker(new URL("./password_worker.ts", import.meta.url))` is not followed by compile.
    include: ["lib/crypto/password_worker.ts", "videos/sample.mp4"],
    stem: "parley-server",
  },
  // The JPEG decoding worker, likewise (without it the client decodes in-thread).
  client: { entry: "client.ts", task: "client", include: ["lib/media/decode_worker.ts"], stem: "parley" },
};

export function outputPath(program: Program, target: Target): string {
  const exe = target.includes("windows") ? ".exe" : "";
  return `dist/${PROGRAMS[program].stem}-${target}${exe}`;
}

/** Arguments for `deno` (after the executable) compiling `program` for `target`. */
export function compileArgs(
  program: Program,
  target: Target,
  perms: string[],
  exclude: string[] = [],
): string[] {
  const p = PROGRAMS[program];
  return [
    "compile",
    ...perms,
    ...p.include.flatMap((f) => ["--include", f]),
    ...exclude.flatMap((f) => ["--exclude", f]),
    "--target",
    target,
    "--output",
    outputPath(program, target),
    p.entry,
  ];
}

/**
 * One sentence for a failed `deno compile` whose cause is the runtime (denort): download
 * impossible, or DENORT_BIN missing or not a runtime. Null when the failure is something else.
 */
export function explainCompileFailure(stderr: string, target: Target, denortBin?: string): string | null {
  const plain = stripAnsi(stderr);
  const need = `compiling needs internet access once (Deno then caches the runtime) or DENORT_BIN ` +
    `pointing at a denort binary for ${target}`;
  if (denortBin) {
    if (/Could not find denort/i.test(plain)) {
      return `deno compile failed: DENORT_BIN points at ${denortBin}, which does not exist; ${need}.`;
    }
    if (/Writing binary bytes|Invalid object|Not an ELF|Failed to read header|Mach-O|PE /i.test(plain)) {
      return `deno compile failed: DENORT_BIN (${denortBin}) is not a denort runtime for ${target}; ${need}.`;
    }
  }
  if (/dl\.deno\.land|denort|Setting up base binary|error sending request|dns error/i.test(plain)) {
    return `deno compile could not download its runtime (denort) for ${target}: ${need}.`;
  }
  return null;
}

export function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

export { sha256Hex };

/** True for the file names of release executables (`parley-<target>`, `parley-server-<target>`). */
export function isReleaseFile(name: string): boolean {
  const m = /^parley(?:-server)?-(.+?)(\.exe)?$/.exec(name);
  return m !== null && isTarget(m[1]!) && (m[2] !== undefined) === m[1]!.includes("windows");
}

/** `sha256sum`-style lines (`HEX  NAME`), sorted by name. */
export function checksumLines(entries: { name: string; hex: string }[]): string {
  return [...entries].sort((a, b) => a.name.localeCompare(b.name)).map((e) => `${e.hex}  ${e.name}\n`)
    .join("");
}

/** Writes `<dir>/SHA256SUMS` over the release executables in `dir`; returns how many. */
export async function writeChecksums(dir: string): Promise<number> {
  const entries: { name: string; hex: string }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !isReleaseFile(e.name)) continue;
    entries.push({ name: e.name, hex: await sha256Hex(await Deno.readFile(`${dir}/${e.name}`)) });
  }
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, checksumLines(entries));
  return entries.length;
}

/** Reads the permission flags of a deno.json task. */
export async function taskPermissions(configPath: string, task: string): Promise<string[]> {
  const cfg = JSON.parse(await Deno.readTextFile(configPath)) as { tasks?: Record<string, string> };
  const line = cfg.tasks?.[task];
  if (!line) throw new Error(`deno.json has no "${task}" task`);
  return permissionFlags(line);
}

/** Runs one `deno compile`; resolves to null on success, or the sentence to print. */
export async function compileOne(program: Program, target: Target, perms: string[]): Promise<string | null> {
  const denortBin = Deno.env.get("DENORT_BIN") || undefined;
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(program, target, perms),
    stdout: "piped",
    stderr: "piped",
    // The child inherits the environment, DENORT_BIN included; no colours to parse.
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  if (out.success) return null;
  const err = new TextDecoder().decode(out.stderr);
  return explainCompileFailure(err, target, denortBin) ??
    `deno compile failed for ${program} (${target}):\n${stripAnsi(err).trim()}`;
}

async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCompileArgs(argv, Deno.build.target);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`compile: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.mode === "help") return console.log(USAGE), 0;
  await Deno.mkdir("dist", { recursive: true });
  if (parsed.mode === "compile") {
    if (Deno.env.get("DENORT_BIN") && parsed.targets.length > 1) {
      console.error("compile: DENORT_BIN is a runtime for one target; build one --target at a time");
      return 2;
    }
    const perms = await taskPermissions("deno.json", PROGRAMS[parsed.program].task);
    for (const target of parsed.targets) {
      console.error(`Compiling ${parsed.program} ${VERSION} for ${target} (${perms.join(" ")})`);
      const problem = await compileOne(parsed.program, target, perms);
      if (problem) {
        console.error(problem);
        return 1;
      }
      console.error(`Wrote ${outputPath(parsed.program, target)}`);
    }
  }
  const n = await writeChecksums("dist");
  console.error(`Wrote dist/SHA256SUMS (${counted(n, "executable")})`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
