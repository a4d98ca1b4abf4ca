/**
 * One-time install from a clone (issue 38 item 4): `deno task install [-- --root DIR]` runs
 * `deno install -g` for both programs, `parley` (client.ts) and `parley-server` (server.ts), with
 * exactly the permission flags the release binaries get (the deno.json tasks, read as
 * tools/compile.ts reads them) and this clone's deno.json (imports; its npm packages are copied
 * beside the launcher, so the programs start offline once installed). The launchers run this
 * clone's files: keep the clone where it is (`git pull` updates them; install again after a
 * change of packages). `DENO_INSTALL_ROOT` (or `--root`) picks the folder (default ~/.deno): its
 * bin/ must be on PATH.
 */
import { fileURLToPath } from "node:url";
import { type Program, PROGRAMS, taskPermissions } from "./compile.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export const INSTALL_USAGE = `Usage: deno task install [-- --root DIR]
Installs the launchers parley and parley-server into DIR/bin (default: DENO_INSTALL_ROOT, else ~/.deno).`;

/** Arguments for `deno` installing one program under its release name. */
export function installArgs(program: Program, perms: string[], root?: string): string[] {
  const p = PROGRAMS[program];
  return [
    "install",
    "--global",
    "--force",
    "--name",
    p.stem,
    "--config",
    `${ROOT}deno.json`,
    ...(root ? ["--root", root] : []),
    ...perms,
    `${ROOT}${p.entry}`,
  ];
}

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== "--");
  let root: string | undefined;
  if (args[0] === "--help" || args[0] === "-h") return console.log(INSTALL_USAGE), 0;
  if (args[0] === "--root" && args[1] && args.length === 2) root = args[1];
  else if (args.length) {
    console.error(`install: unexpected ${args.join(" ")}\n\n${INSTALL_USAGE}`);
    return 2;
  }
  for (const program of ["client", "server"] as const) {
    const perms = await taskPermissions(`${ROOT}deno.json`, PROGRAMS[program].task);
    const out = await new Deno.Command(Deno.execPath(), {
      args: installArgs(program, perms, root),
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) {
      console.error(`install: deno install of ${PROGRAMS[program].stem} failed:\n${text.trim()}`);
      return 1;
    }
    console.error(`Installed ${PROGRAMS[program].stem} (${perms.join(" ")})`);
  }
  const bin = root ? `${root}/bin` : "the bin folder of DENO_INSTALL_ROOT (default ~/.deno/bin)";
  console.error(`Put ${bin} on PATH, then: parley --version; parley-server --help`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
