/**
 * Parley client entry: parse flags → resolve config → connect → run a scripted subcommand, or the
 * full-screen chat when no subcommand is given. The full-screen client's modules are imported only
 * when it starts, so a scripted command does not pay for loading them.
 */
import { runCli } from "./lib/client/cli/main.ts";
import { inPlace } from "./lib/common/progress.ts";
import type { LaunchPrompts } from "./lib/client/start/launch.ts";
import { followCaller } from "./lib/common/task_cwd.ts";
import { waitWithoutEcho } from "./lib/client/term/terminal.ts";

export { VERSION } from "./lib/common/version.ts";
import { VERSION } from "./lib/common/version.ts";

const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();

// The prompt library loads when a prompt is shown, not at start (~20 ms of CPU per command).
const clackModule = () => import("@clack/prompts");

const prompts: LaunchPrompts = interactive
  ? {
    choose: async (message, options) => {
      const clack = await clackModule();
      const r = await clack.select({ message, options });
      return clack.isCancel(r) ? null : String(r);
    },
    error: (message) => void clackModule().then((clack) => clack.log.error(message)),
    password: async (message) => {
      const clack = await clackModule();
      const r = await clack.password({ message, mask: "•" });
      return clack.isCancel(r) ? null : r;
    },
    waitUntil: async (message, until) => {
      (await clackModule()).log.warn(message);
      return await waitWithoutEcho(Math.max(0, until - Date.now()) + 500); // nothing typed is shown; Ctrl-C quits
    },
    confirm: async (message, initial = false) => {
      const clack = await clackModule();
      const r = await clack.confirm({ message, initialValue: initial });
      return r === true;
    },
    text: async (message) => {
      const clack = await clackModule();
      const r = await clack.text({ message });
      return clack.isCancel(r) ? null : r;
    },
  }
  : {};

/** A progress line redrawn in place on standard error; another line first ends it. */
let statusShown = false;
const stderrText = (t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t));
const writeStatus = (line: string, end: boolean) => {
  stderrText(inPlace(line, Deno.consoleSize().columns, end));
  statusShown = !end;
};
const endStatus = () => {
  if (statusShown) stderrText("\n");
  statusShown = false;
};

if (import.meta.main) {
  // `deno task client …` from another folder: relative paths are the caller's (lib/common/task_cwd.ts).
  const here = followCaller({
    initCwd: () => Deno.env.get("INIT_CWD"),
    cwd: () => Deno.cwd(),
    programDir: import.meta.dirname!, // not node:url: its module is CPU at every start
    hasConfig: () => Deno.statSync(new URL("./deno.json", import.meta.url)).isFile,
  });
  if (here) Deno.chdir(here);
  const code = await runCli(Deno.args, {
    env: { get: (n) => Deno.env.get(n) },
    out: (l) => console.log(l),
    err: (l) => (endStatus(), console.error(l)),
    ...(Deno.stderr.isTerminal()
      ? { errTerminal: { columns: Deno.consoleSize().columns }, errStatus: writeStatus }
      : {}),
    prompts,
    version: VERSION,
    stopped: () =>
      new Promise<void>((resolve) => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) {
          try {
            Deno.addSignalListener(sig, () => resolve());
          } catch { /* Windows: SIGINT only */ }
        }
      }),
    peerTui: async (node, dirs) => {
      try {
        const { detectNotifyMode, PEER_COMMANDS, runTui } = await import("./lib/client/tui/mod.ts");
        const { pathCompletions } = await import("./lib/client/files/disk.ts");
        const { findFfmpeg, imageThumbnail } = await import("./lib/media/mod.ts");
        const ffmpeg = findFfmpeg({ get: (n: string) => Deno.env.get(n) });
        await runTui(node.backend(dirs.outbox), {
          notify: detectNotifyMode(Deno.env.toObject()),
          files: dirs.files,
          commands: PEER_COMMANDS,
          listPaths: pathCompletions,
          loadPicture: (path, box) => imageThumbnail(ffmpeg, path, box),
          peerWatch: node.watch,
          ...(ffmpeg
            ? {
              openLocalVideo: async (path: string, start: number, px: { width: number; height: number }) => {
                const { openLocalPlayback } = await import("./lib/client/video/local_playback.ts");
                return openLocalPlayback(ffmpeg, path, start, px, () => Date.now());
              },
            }
            : {}),
        });
      } finally {
        await node.close();
      }
      return 0;
    },
    scriptLines: async function* (src) {
      const file = src === "-" ? Deno.stdin : await Deno.open(src);
      let rest = "";
      for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + chunk).split(/\r?\n/);
        rest = lines.pop()!;
        yield* lines;
      }
      if (rest) yield rest;
    },
    tui: async (flags) => {
      const { launchTui } = await import("./lib/client/start/launch.ts");
      const { detectNotifyMode, runTui } = await import("./lib/client/tui/mod.ts");
      const { playDecoder } = await import("./lib/client/cli/video_actions.ts");
      const { findFfmpeg, imageThumbnail } = await import("./lib/media/mod.ts");
      const { pathCompletions } = await import("./lib/client/files/disk.ts");
      const env = { get: (n: string) => Deno.env.get(n) };
      return await launchTui(flags, env, prompts, async (backend, files) => {
        const r = Deno.env.get("PARLEY_RENDERER");
        if (r !== undefined && r !== "kitty" && r !== "sixel" && r !== "halfblock") {
          throw new Error(`PARLEY_RENDERER must be kitty, sixel or halfblock, not "${r}"`);
        }
        await runTui(backend, {
          notify: detectNotifyMode(Deno.env.toObject()),
          files, // the settings file and conversation logs (/set)
          ...(r ? { renderer: r } : {}),
          // Frames decode in a long-lived ffmpeg when there is one (as in `parley play`).
          videoDecoder: (kind) => playDecoder(findFfmpeg(env), kind),
          listPaths: pathCompletions,
          loadPicture: (path, box) => imageThumbnail(findFfmpeg(env), path, box),
        });
      });
    },
  });
  Deno.exit(code);
}
