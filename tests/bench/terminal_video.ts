/**
 * Terminal video benchmark for `deno task bench` (group "terminal"): a 1080p 24 fps clip made with
 * ffmpeg's test source is played by the scripted client (`client.ts play --renderer R`) inside a
 * tmux pane of 80×24 and 200×60 cells, against a `server.ts` process; the same clip is played by
 * timg in the same pane when timg is installed. Per renderer and size it prints CPU per displayed
 * frame (Parley: client + server + the server's ffmpeg, each its own row, the server alone too;
 * timg: its whole process), bytes written to
 * the terminal per frame (captured with tmux pipe-pane), frames shown of the source's and, for kitty,
 * the pixel size of most frames (the adaptive choice may send another rendition under load). With
 * `repeat`, every play (Parley's, then timg's, in turns) is made that many times and each row is the
 * median with its range; a ratio row (half-block, kitty) compares each Parley play with the timg play
 * after it; a release check row per renderer and size compares that ratio with the last release's
 * (terminal_release.ts, terminal_release.json) and says REGRESSION when over it by more than its
 * range, which makes `deno task bench` exit 1. The first frame on screen is a row per play (from
 * `play` to its first picture) and, per renderer, after accepting a user-to-user stream
 * (`watch` in the pane, `stream` offering the clip: `streamRows`). Kitty plays send their pixels
 * through temporary files (`t=t`), asked for with PARLEY_KITTY_TRANSFER=file (PARLEY_BENCH_KITTY_TRANSFER:
 * another setting, e.g. direct): inside tmux the query cannot be answered as kitty would (tmux answers
 * the DA1 after it before any program behind the pane could), so the client is told instead; behind
 * Parley's kitty panes kitty_reader.ts reads and deletes every file as kitty does (its CPU is not counted).
 * Needs ffmpeg and tmux; a missing one skips the group with a row saying so.
 */
import { testFfmpeg } from "../helpers.ts";
import { startServer, stopServer } from "./bench_server.ts";
import { cpuMicros, envFlags, median, type Row } from "./proc.ts";
import { readReleaseFigures, type ReleaseFigures, releaseVerdict } from "./terminal_release.ts";

/** The checkout whose client.ts is measured (PARLEY_BENCH_ROOT: e.g. an older worktree, for before/after). */
const ROOT = (Deno.env.get("PARLEY_BENCH_ROOT")?.replace(/\/?$/, "/")) ??
  new URL("../..", import.meta.url).pathname;
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];
/** How the bench's kitty plays send their pixels (PARLEY_KITTY_TRANSFER of the client). */
const KITTY_TRANSFER = Deno.env.get("PARLEY_BENCH_KITTY_TRANSFER") ?? "file";
/** Extra `deno run` flags for the client, e.g. PARLEY_BENCH_CLIENT_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p". */
const CLIENT_FLAGS = envFlags("PARLEY_BENCH_CLIENT_FLAGS");
/** The checkout whose server.ts serves the plays: PARLEY_BENCH_ROOT's too (a before/after of both sides). */
const SERVER_ROOT = Deno.env.get("PARLEY_BENCH_ROOT") ? ROOT : undefined;
/**
 * The server's `--video-cache` (PARLEY_BENCH_VIDEO_CACHE; default 0: every play runs its ffmpeg, as timg
 * decodes every time — the cold figure the ratios and the release check compare). A size in MiB measures
 * repeat plays replayed from kept frames; empty passes no flag (a checkout older than the flag).
 */
const VIDEO_CACHE = Deno.env.get("PARLEY_BENCH_VIDEO_CACHE") ?? "0";

export type Kind = "halfblock" | "kitty" | "sixel";
/** Every renderer the bench plays, and the pane sizes (cols × rows) of each; each has a release figure. */
export const KINDS: readonly Kind[] = ["halfblock", "kitty", "sixel"];
export const PANES: readonly (readonly [number, number])[] = [[80, 24], [200, 60]];
const TIMG_P: Record<Kind, string> = { halfblock: "h", kitty: "k", sixel: "s" };

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const o = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const d = new TextDecoder();
  if (!o.success) throw new Error(`${cmd} ${args.join(" ")}: ${d.decode(o.stderr).slice(-400)}`);
  return d.decode(o.stdout);
}

/** user+system CPU seconds of a process and its reaped children. */
const cpuOf = async (pid: number): Promise<number> => (await cpuMicros(pid, true)) / 1e6;

const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs `command` in a fresh tmux server with one cols×rows pane, capturing what it writes to the
 * terminal; returns the captured bytes and the command's CPU seconds (GNU time).
 */
async function inTmux(
  dir: string,
  tag: string,
  cols: number,
  rows: number,
  command: string[],
  env: Record<string, string>,
  timeoutMs: number,
  /** Behind the pane, kitty_reader.ts (temporary files read and deleted) instead of `cat`. */
  kittyReader = false,
): Promise<{ bytes: number; cpu: number }> {
  const sock = `pb-${tag}-${Deno.pid}`;
  const go = `${dir}/${tag}.go`, done = `${dir}/${tag}.done`, cpuFile = `${dir}/${tag}.cpu`;
  const capture = `${dir}/${tag}.out`;
  await Deno.writeTextFile(`${dir}/tmux.conf`, "set -g status off\nset -g default-terminal tmux-256color\n");
  const envs = Object.entries(env).map(([k, v]) => `${k}=${sq(v)}`).join(" ");
  const script = [
    `i=0; while [ ! -e ${sq(go)} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`,
    `env ${envs} /usr/bin/time -f '%U %S' -o ${sq(cpuFile)} ${command.map(sq).join(" ")} 2>${
      sq(dir + "/" + tag + ".err")
    }`,
    `touch ${sq(done)}`,
  ].join("; ");
  await run("tmux", [
    "-L",
    sock,
    "-f",
    `${dir}/tmux.conf`,
    "new-session",
    "-d",
    "-x",
    String(cols),
    "-y",
    String(rows),
    "bash",
    "-c",
    script,
  ]);
  try {
    const reader = new URL("./kitty_reader.ts", import.meta.url).pathname;
    const behind = kittyReader
      ? `${sq(Deno.execPath())} run --allow-read --allow-write ${sq(reader)} ${sq(capture)}`
      : `cat > ${sq(capture)}`;
    await run("tmux", ["-L", sock, "pipe-pane", "-o", behind]);
    await Deno.writeTextFile(go, "");
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await Deno.stat(done);
        break;
      } catch { /* still playing */ }
      if (Date.now() > end) throw new Error(`${tag}: no end within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 200)); // let pipe-pane flush
    const [u, s] = (await Deno.readTextFile(cpuFile)).trim().split("\n").at(-1)!.split(" ").map(Number);
    return { bytes: (await Deno.stat(capture)).size, cpu: u! + s! };
  } finally {
    await new Deno.Command("tmux", { args: ["-L", sock, "kill-server"], stderr: "null" }).output();
  }
}

export async function benchTerminalVideo(
  o: {
    seconds?: number;
    renderers?: Kind[];
    timg?: boolean;
    repeat?: number;
    /** Only the first frames after accepting a stream (`streamRows`), no plays. */
    acceptOnly?: boolean;
    /**
     * Only the first frame of each play (`play --frames 24`, every renderer and pane, no timg, no CPU
     * rows, no accept rows): its row per renderer and size, the median of `repeat` plays.
     */
    playOnly?: boolean;
  } = {},
): Promise<Row[]> {
  const repeat = Math.max(1, Math.floor(o.repeat ?? 1));
  const ffmpeg = testFfmpeg();
  if (!ffmpeg) return [{ name: "terminal video: skipped (no ffmpeg)", value: NaN, unit: "" }];
  if (!(await has("tmux"))) return [{ name: "terminal video: skipped (no tmux)", value: NaN, unit: "" }];
  const timg = o.timg !== false && !o.playOnly && await has("timg");
  const seconds = o.seconds ?? 20, fps = 24, sourceFrames = seconds * fps;
  const dir = await Deno.makeTempDir({ prefix: "parley-bench-term-" });
  const rows: Row[] = [];
  const release = await readReleaseFigures();
  if (!timg && !o.acceptOnly && !o.playOnly) {
    const why = o.timg === false ? "left out" : "not installed";
    rows.push({ name: `timg rows: skipped (timg ${why})`, value: NaN, unit: "" });
  }
  if (!o.acceptOnly && (o.renderers ?? KINDS).includes("kitty")) {
    const how = KITTY_TRANSFER === "file"
      ? "through temporary files (t=t; PARLEY_KITTY_TRANSFER=file: tmux cannot pass kitty's answer to the query), read and deleted behind the pane"
      : `PARLEY_KITTY_TRANSFER=${KITTY_TRANSFER}`;
    rows.push({ name: `kitty rows: pixels ${how}`, value: NaN, unit: "" });
  }
  try {
    await Deno.mkdir(`${dir}/videos`);
    const clip = `${dir}/videos/clip.mp4`;
    await run(ffmpeg, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=1920x1080:rate=${fps}`,
      "-t",
      String(seconds),
      "-pix_fmt",
      "yuv420p",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      clip,
    ]);
    const data = `${dir}/data`;
    await Deno.mkdir(data);
    const srv = await startServer(
      data,
      ["--videos", `${dir}/videos`, ...VIDEO_CACHE ? ["--video-cache", VIDEO_CACHE] : []],
      [],
      SERVER_ROOT,
    );
    const home = `${dir}/home`;
    const env = {
      PARLEY_PASSWORD: "bench-password-1",
      PARLEY_HOME: home,
      PARLEY_FFMPEG: ffmpeg,
      NO_COLOR: "1",
      RUST_BACKTRACE: "0",
      COLORTERM: "truecolor",
    };
    const cli = (args: string[], user = "viewer") => [
      Deno.execPath(),
      "run",
      ...CLIENT_FLAGS,
      ...PERMS,
      `${ROOT}client.ts`,
      ...args,
      "--server",
      `127.0.0.1:${srv.port}`,
      "--user",
      user,
    ];
    try {
      const [c0, ...rest] = cli(["register", "--trust-on-first-use"]);
      await run(c0!, rest, env);
      // The plays log in as a viewer who asked to be remembered (`login --remember`), as a logged-in
      // user plays: no password hashing on either side per play (one half-block row repeats a play
      // with the password login). An older checkout without the flag (PARLEY_BENCH_ROOT) logs in with
      // the password each time.
      const [c1, ...rest1] = cli(["login", "--remember"]);
      await run(c1!, rest1, env).catch(() => console.error("terminal bench: plays log in with the password"));
      // Renditions are made on the server's first start: wait until the clip is listed with them.
      for (let i = 0;; i++) {
        const [c, ...a] = cli(["videos", "--json"]);
        const list = JSON.parse(await run(c!, a, env)) as { name: string; renditions: string[] }[];
        if (list.some((v) => v.name === "clip" && v.renditions.length === 3)) break;
        if (i > 600) throw new Error("the clip's renditions were not ready in 5 minutes");
        await new Promise((r) => setTimeout(r, 500));
      }
      // One Parley play: CPU (client, and the server with its ffmpeg), bytes, frames shown, first frame.
      const play = async (kind: Kind, cols: number, rowsN: number, tag: string, home2?: string) => {
        const before = await cpuOf(srv.pid), beforeJs = await cpuMicros(srv.pid) / 1e6;
        const r = await inTmux(
          dir,
          tag,
          cols,
          rowsN,
          cli(["play", "clip", "--renderer", kind, ...(o.playOnly ? ["--frames", "24"] : [])]),
          { ...env, ...(home2 ? { PARLEY_HOME: home2 } : {}), PARLEY_KITTY_TRANSFER: KITTY_TRANSFER },
          120_000,
          kind === "kitty",
        );
        const server = (await cpuOf(srv.pid)) - before;
        const serverJs = (await cpuMicros(srv.pid)) / 1e6 - beforeJs; // the server alone, no ffmpeg
        const err = await Deno.readTextFile(`${dir}/${tag}.err`).catch(() => "");
        const shown = Number(err.match(/(\d+) frames shown/)?.[1] ?? NaN);
        const first = Number(err.match(/first frame after (\d+) ms/)?.[1] ?? NaN);
        const frameSize = kind === "kitty" ? await kittyFrameSize(`${dir}/${tag}.out`) : "";
        return { client: r.cpu, server, serverJs, bytes: r.bytes, shown, first, frameSize };
      };
      const med = (name: string, samples: number[], unit: string): Row => ({
        name,
        value: median(samples),
        unit,
        ...(samples.length > 1 ? { samples } : {}),
      });
      if (o.playOnly) {
        rows.push(...await firstFrameRows(o.renderers ?? [...KINDS], repeat, play));
        return rows;
      }
      for (const kind of o.acceptOnly ? [] : o.renderers ?? KINDS) {
        for (const [cols, rowsN] of PANES) {
          const size = `${cols}x${rowsN}`, tag = `${kind}-${size}`;
          // The half-block 200x60 play is also made by a viewer who logs in with the password each
          // time (argon2id on both sides; how these rows were measured before remembered logins).
          const withPassword = kind === "halfblock" && cols === 200;
          const home2 = `${dir}/home-password`;
          if (withPassword) {
            await Deno.mkdir(home2, { recursive: true, mode: 0o700 });
            await Deno.copyFile(`${home}/known_servers.json`, `${home2}/known_servers.json`);
          }
          // Parley and timg take turns, so a slow spell of the machine falls on both.
          const p: Awaited<ReturnType<typeof play>>[] = [], pw: number[] = [];
          const t: { cpu: number; bytes: number }[] = [];
          let timgError = "";
          for (let i = 0; i < repeat; i++) {
            p.push(await play(kind, cols, rowsN, `${tag}-${i}`));
            if (withPassword) {
              const q = await play(kind, cols, rowsN, `${tag}-password-${i}`, home2);
              pw.push(((q.client + q.server) * 1000) / q.shown);
            }
            if (!timg || timgError) continue;
            try {
              t.push(
                await inTmux(
                  dir,
                  `timg-${tag}-${i}`,
                  cols,
                  rowsN,
                  ["timg", `-g${cols}x${rowsN}`, `-p${TIMG_P[kind]}`, "-V", clip],
                  env,
                  seconds * 20_000, // 8 s of 200×60 kitty is ~1 GB through tmux: slow under load
                ),
              );
            } catch (e) {
              timgError = (e as Error).message;
            }
          }
          const total = p.map((x) => ((x.client + x.server) * 1000) / x.shown);
          rows.push(
            med(`video cpu/frame ${kind} ${size} (parley total)`, total, "ms"),
            med(
              `video bytes/frame ${kind} ${size} (parley)`,
              p.map((x) => Math.round(x.bytes / x.shown)),
              "B",
            ),
            med(`video frames shown ${kind} ${size}`, p.map((x) => x.shown), `of ${sourceFrames}`),
            med(`video first frame ${kind} ${size}`, p.map((x) => x.first), "ms"),
            med(
              `  of which client cpu/frame ${kind} ${size}`,
              p.map((x) => (x.client * 1000) / x.shown),
              "ms",
            ),
            med(
              `  of which server+ffmpeg cpu/frame ${kind} ${size}`,
              p.map((x) => (x.server * 1000) / x.shown),
              "ms",
            ),
            med(
              `    of which server alone (no ffmpeg) cpu/frame ${kind} ${size}`,
              p.map((x) => (x.serverJs * 1000) / x.shown),
              "ms",
            ),
          );
          if (kind === "kitty") {
            // The adaptive choice may give another rendition under load: the pixels each play sent.
            const sizes = p.map((x) => x.frameSize).join(", ");
            rows.push({
              name: `video frame size kitty ${size} (most frames, each play)`,
              value: NaN,
              unit: sizes,
            });
          }
          if (withPassword) {
            rows.push(med(`video cpu/frame ${kind} ${size} (parley total, password login)`, pw, "ms"));
          }
          if (!timg) continue;
          if (timgError) {
            rows.push({ name: `video cpu/frame ${kind} ${size} (timg)`, value: NaN, unit: timgError });
            continue;
          }
          const timgCpu = t.map((x) => (x.cpu * 1000) / sourceFrames);
          rows.push(
            med(`video cpu/frame ${kind} ${size} (timg)`, timgCpu, "ms"),
            med(
              `video bytes/frame ${kind} ${size} (timg)`,
              t.map((x) => Math.round(x.bytes / sourceFrames)),
              "B",
            ),
          );
          // Each Parley play against the timg play that followed it. Not for sixel: timg draws no sixel
          // inside tmux (it falls back to other output), so its sixel rows are not the same work.
          const ratios = total.map((x, i) => x / timgCpu[i]!);
          if (kind !== "sixel") {
            rows.push(med(`video cpu/frame ratio ${kind} ${size} (parley / timg)`, ratios, "×"));
          }
          rows.push(releaseRow(release, `${kind} ${size}`, ratios, seconds));
        }
      }
      rows.push(
        ...await streamRows(o.renderers ?? [...KINDS], repeat, dir, clip, env, cli),
      );
    } finally {
      await stopServer(srv);
    }
  } finally {
    if (!Deno.env.get("PARLEY_BENCH_KEEP")) await Deno.remove(dir, { recursive: true }).catch(() => {});
    else console.error(`kept ${dir}`);
  }
  return rows;
}

/** The most common `s=W,v=H` of the kitty commands captured in `file` ("W×H"), "" when none. */
async function kittyFrameSize(file: string): Promise<string> {
  const text = new TextDecoder("latin1").decode(await Deno.readFile(file).catch(() => new Uint8Array(0)));
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/_Ga=T,f=\d+,s=(\d+),v=(\d+)/g)) {
    const k = `${m[1]}×${m[2]}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((x, y) => y[1] - x[1])[0]?.[0] ?? "";
}

/**
 * The first frame of `play` per renderer and pane size (`PARLEY_BENCH_PLAY_ONLY=1`): the plays take
 * turns (renderer by renderer, size by size, `repeat` rounds), so a slow spell falls on all of them.
 */
async function firstFrameRows(
  kinds: Kind[],
  repeat: number,
  play: (kind: Kind, cols: number, rows: number, tag: string) => Promise<{ first: number }>,
): Promise<Row[]> {
  const firsts = new Map<string, number[]>();
  for (let i = 0; i < repeat; i++) {
    for (const kind of kinds) {
      for (const [cols, rowsN] of PANES) {
        const key = `${kind} ${cols}x${rowsN}`;
        const r = await play(kind, cols, rowsN, `first-${kind}-${cols}x${rowsN}-${i}`);
        firsts.set(key, [...firsts.get(key) ?? [], r.first]);
      }
    }
  }
  return [...firsts].map(([key, samples]) => ({
    name: `video first frame ${key}`,
    value: median(samples),
    unit: "ms",
    ...(samples.length > 1 ? { samples } : {}),
  }));
}

/**
 * The row comparing this run's ratio to timg (for sixel only a same-run yardstick: timg's fallback)
 * with the last release's (terminal_release.ts); a REGRESSION row when above it by more than its range.
 */
function releaseRow(release: ReleaseFigures | null, key: string, ratios: number[], seconds: number): Row {
  const m = median(ratios);
  const v = releaseVerdict(release, key, m, seconds, ratios);
  if (!v) {
    const why = release && release.clipSeconds !== seconds
      ? `recorded for a ${release.clipSeconds} s clip`
      : "no recorded figure";
    return { name: `video release check ${key}: ${why}`, value: m, unit: "×" };
  }
  const name = `video release check ${key} (≤ ${v.limit.toFixed(3)}, ${v.release} + the run-to-run range)`;
  if (!v.regressed) return { name, value: m, unit: "× ok", samples: ratios };
  const regression = `REGRESSION: ${key} costs ${m.toFixed(3)}× timg's CPU per frame, over ${v.release}'s ${
    v.limit.toFixed(3)
  }`;
  return { name, value: m, unit: "× REGRESSION", samples: ratios, regression };
}

/**
 * The first frame after accepting a user-to-user stream, per renderer at 80×24: `watch` waits in a
 * tmux pane (a user of its own, with its keys), `stream` offers the clip once it says it waits, and
 * `watch` prints the time from its accept to its first picture.
 */
async function streamRows(
  kinds: Kind[],
  repeat: number,
  dir: string,
  clip: string,
  env: Record<string, string>,
  cli: (args: string[], user?: string) => string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  const homes = { streamer: `${dir}/home-streamer`, watcher: `${dir}/home-watcher` };
  try {
    for (const [user, home] of Object.entries(homes)) {
      await Deno.mkdir(home, { recursive: true, mode: 0o700 });
      const [c, ...a] = cli(["register", "--trust-on-first-use"], user);
      await run(c!, a, { ...env, PARLEY_HOME: home });
    }
  } catch (e) {
    return [{
      name: "video first frame after accept: skipped",
      value: NaN,
      unit: (e as Error).message.slice(0, 120),
    }];
  }
  for (const kind of kinds) {
    const firsts: number[] = [];
    let why = "";
    for (let i = 0; i < repeat && !why; i++) {
      const tag = `accept-${kind}-${i}`;
      const watching = inTmux(
        dir,
        tag,
        80,
        24,
        cli(
          ["watch", "--accept-from", "streamer", "--renderer", kind, "--frames", "48", "--wait", "60"],
          "watcher",
        ),
        { ...env, PARLEY_HOME: homes.watcher },
        120_000,
      );
      try {
        // `watch` is synced and waiting (its own line) before the offer goes.
        for (
          let k = 0;
          !(await Deno.readTextFile(`${dir}/${tag}.err`).catch(() => "")).includes("Waiting");
          k++
        ) {
          if (k > 600) throw new Error("watch did not start waiting in 60 s");
          await new Promise((r) => setTimeout(r, 100));
        }
        const [c, ...a] = cli(["stream", "watcher", clip, "--height", "240", "--wait", "60"], "streamer");
        await Promise.all([watching, run(c!, a, { ...env, PARLEY_HOME: homes.streamer })]);
        const err = await Deno.readTextFile(`${dir}/${tag}.err`);
        const first = Number(err.match(/first frame after (\d+) ms/)?.[1] ?? NaN);
        if (!Number.isFinite(first)) throw new Error(`no first frame: ${err.slice(-200)}`);
        firsts.push(first);
      } catch (e) {
        why = (e as Error).message.slice(0, 160);
        await watching.catch(() => {});
      }
    }
    rows.push(
      why ? { name: `video first frame after accept ${kind} 80x24`, value: NaN, unit: why } : {
        name: `video first frame after accept ${kind} 80x24`,
        value: median(firsts),
        unit: "ms",
        ...(firsts.length > 1 ? { samples: firsts } : {}),
      },
    );
  }
  return rows;
}
