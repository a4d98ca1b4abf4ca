/**
 * The real terminal, the one `TerminalIo` of the client: the ONLY client file that touches
 * Deno.stdin/stdout, raw mode, the console size and `stty`. The scripted player (video/terminal.ts
 * detects graphics through it) and the full-screen client (tui/terminal.ts puts its screen on it)
 * both take this interface, so tests hand them a fake.
 *
 * Contract: `denoTerminalIo()` reads stdin through one reader (one per process: call it once), writes
 * all of a chunk, `size()` throws when stdout is no terminal, `rawOutput` and `onResize` may do
 * nothing where the platform cannot (Windows). `waitWithoutEcho` is a wait before full screen with
 * the echo off (a lockout's countdown at the password prompt). `tempFiles` is the one place the
 * client puts files for the terminal to read: temporary files under /tmp holding a kitty frame's
 * pixels (media/kitty_file.ts), made new (never over an existing path), readable by the owner only.
 */
import { cryptoRandom, type RandomBytes } from "../../common/random.ts";
import { toHex } from "../../common/bytes.ts";

export interface TerminalIo {
  stdinIsTerminal: () => boolean;
  stdoutIsTerminal: () => boolean;
  size: () => { columns: number; rows: number };
  setRaw: (raw: boolean) => void;
  write: (b: Uint8Array) => void;
  /** Reads one chunk (null at end). */
  read: () => Promise<Uint8Array | null>;
  /**
   * Turns the terminal's output processing off (`stty -opost`: the kernel then passes bytes through
   * instead of scanning each for newlines) and returns what puts the settings back as they were;
   * null when it cannot (no terminal on stdin and stdout, no `stty`, Windows). For a player that
   * writes only escape sequences and cursor moves: 0.3 s of kernel CPU per 480 frames of 42 KB.
   */
  rawOutput?: () => Promise<(() => Promise<void>) | null>;
  /** Calls `h` whenever the terminal changes size (SIGWINCH); returns what stops it. */
  onResize?: (h: () => void) => () => void;
  /** Temporary files the terminal may read pixels from (kitty `t=t`); absent where there are none. */
  tempFiles?: TempFiles;
}

/** Temporary files for the terminal (the `TempFilePort` of media/kitty_file.ts). */
export interface TempFiles {
  /** A new file holding `bytes`: its path, or null when it could not be made. */
  put(bytes: Uint8Array): string | null;
  /** Deletes the file at `path` if it is still there (only one this port made). */
  drop(path: string): void;
}

/**
 * The folder of the files: /tmp, a folder kitty knows as temporary (it deletes only files there). Not
 * /dev/shm, where kitty's `t=s` objects live: Deno lets a program there only with --allow-all.
 */
const TEMP_DIR = "/tmp/";

/**
 * Temporary files under /tmp (Linux and macOS; null elsewhere or without the folder), named
 * `tty-graphics-protocol-parley-PID-RANDOM-N` (kitty deletes only a file whose path holds
 * `tty-graphics-protocol`): a new one each time, created exclusively (a path that exists, a link too,
 * is never written through) with mode 0600.
 */
export function denoTempFiles(rand: RandomBytes = cryptoRandom): TempFiles | null {
  if (Deno.build.os !== "linux" && Deno.build.os !== "darwin") return null;
  try {
    if (!Deno.statSync(TEMP_DIR).isDirectory) return null;
  } catch {
    return null;
  }
  const prefix = `${TEMP_DIR}tty-graphics-protocol-parley-${Deno.pid}-${toHex(rand(6))}-`;
  let n = 0;
  return {
    put: (bytes) => {
      const path = prefix + n++;
      try {
        Deno.writeFileSync(path, bytes, { createNew: true, mode: 0o600 });
        return path;
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) return null; // not ours: left alone
        try {
          Deno.removeSync(path); // a part written (the disk full): not left behind
        } catch { /* none made */ }
        return null;
      }
    },
    drop: (path) => {
      if (!path.startsWith(prefix) || path.slice(prefix.length).includes("/")) return; // only its own
      try {
        Deno.removeSync(path);
      } catch { /* read and deleted by the terminal */ }
    },
  };
}

/** Runs `stty` on the terminal of stdin; its standard output, or null when it failed. */
async function stty(args: string[]): Promise<string | null> {
  try {
    const o = await new Deno.Command("stty", { args, stdin: "inherit", stdout: "piped", stderr: "null" })
      .output();
    return o.success ? new TextDecoder().decode(o.stdout).trim() : null;
  } catch {
    return null; // no stty
  }
}

export function denoTerminalIo(): TerminalIo {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const files = denoTempFiles();
  return {
    ...(files ? { tempFiles: files } : {}),
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    stdoutIsTerminal: () => Deno.stdout.isTerminal(),
    size: () => Deno.consoleSize(),
    setRaw: (raw) => Deno.stdin.setRaw(raw),
    write: (b) => {
      let o = 0;
      while (o < b.length) o += Deno.stdout.writeSync(b.subarray(o));
    },
    read: async () => {
      reader ??= Deno.stdin.readable.getReader();
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    rawOutput: async () => {
      if (Deno.build.os === "windows" || !Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) return null;
      const saved = await stty(["-g"]); // every setting, in the form stty takes back
      if (!saved || !/^[\w:=.-]+$/.test(saved) || (await stty(["-opost"])) === null) return null;
      return async () => void (await stty([saved]));
    },
    onResize: (h) => {
      try {
        Deno.addSignalListener("SIGWINCH", h);
      } catch {
        return () => {}; // no such signal here (Windows)
      }
      return () => Deno.removeSignalListener("SIGWINCH", h);
    },
  };
}

/**
 * Waits `ms` with the terminal's echo off (issue 71.2: a lockout's countdown, where people type their
 * next try out of habit): what is typed meanwhile is never shown, and stays for the password prompt
 * that follows, which masks it. Ctrl-C still interrupts: it resolves false; the time up, true. The
 * terminal's mode is put back either way. Off a terminal (or where cbreak mode is missing), only the wait.
 */
export function waitWithoutEcho(ms: number): Promise<boolean> {
  let quiet = false;
  try {
    if (Deno.stdin.isTerminal()) {
      Deno.stdin.setRaw(true, { cbreak: true }); // no echo, no line editing; Ctrl-C still a signal
      quiet = true;
    }
  } catch {
    // no cbreak mode here (Windows): the wait alone
  }
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      try {
        Deno.removeSignalListener("SIGINT", interrupted);
      } catch { /* never added */ }
      if (quiet) Deno.stdin.setRaw(false);
      resolve(ok);
    };
    const interrupted = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    try {
      Deno.addSignalListener("SIGINT", interrupted);
    } catch { /* no such signal here: Ctrl-C ends the process as before */ }
  });
}
