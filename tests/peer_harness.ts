/**
 * Scripted peer nodes for the peer-mode tests: `parley peer --script -` as a real process whose
 * standard input the test writes commands to, and whose event lines (`TIME PEER TEXT`,
 * `connected PEER`, `key-changed PEER`) it waits for.
 */
import { PROGRAM_PERMS, rootFile } from "./helpers.ts";
import { sha256Hex } from "../lib/common/bytes.ts";

/** The time at the start of a message line (`TIME PEER TEXT`), as a regular expression's source. */
export const STAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";

/** A loopback address with a port free now, for a peer that must come back on the same one. */
export function freeListen(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${p}`;
}

export class ScriptPeer {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #wake: (() => void)[] = [];
  #reading: Promise<void>;
  port = 0;

  private constructor(readonly user: string, readonly proc: Deno.ChildProcess) {
    this.#writer = proc.stdin.getWriter();
    const pump = async (s: ReadableStream<Uint8Array>, into: string[]) => {
      let rest = "";
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        into.push(...parts);
        for (const w of this.#wake.splice(0)) w();
      }
    };
    this.#reading = Promise.all([pump(proc.stdout, this.lines), pump(proc.stderr, this.errors)]).then(
      () => {},
    );
  }

  /** Starts a node with client folder `home`. Resolves once it listens. */
  static async start(
    user: string,
    home: string,
    o: {
      ephemeral?: boolean;
      listen?: string;
      args?: string[];
      /** another checkout's client.ts (benches comparing two), and flags for `deno run` (--cpu-prof) */
      client?: string;
      denoArgs?: string[];
    } = {},
  ): Promise<ScriptPeer> {
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(o.denoArgs ?? []),
        ...PROGRAM_PERMS,
        o.client ?? rootFile("client.ts"),
        "peer",
        "--listen",
        o.listen ?? "127.0.0.1:0",
        "--user",
        user,
        "--home",
        home,
        ...(o.ephemeral ? ["--ephemeral"] : []),
        ...(o.args ?? []),
        "--script",
        "-",
      ],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new ScriptPeer(user, proc);
    const l = await p.waitLine(/^listening /, 30_000);
    p.port = Number(l.slice(l.lastIndexOf(":") + 1));
    return p;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** The first output line (from `from` on) matching `re`; fails after `ms` with the output so far. */
  waitLine(re: RegExp, ms = 20_000, from = 0): Promise<string> {
    return this.#wait(this.lines, re, ms, from);
  }

  /** The first line on standard error (warnings, "parley: …") matching `re`, as `waitLine`. */
  waitError(re: RegExp, ms = 20_000, from = 0): Promise<string> {
    return this.#wait(this.errors, re, ms, from);
  }

  async #wait(into: string[], re: RegExp, ms: number, from: number): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = into.slice(from).find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > end) {
        throw new Error(
          `${this.user}: no line matching ${re} in ${ms} ms; out:\n${this.lines.join("\n")}\nerr:\n${
            this.errors.join("\n")
          }`,
        );
      }
      await new Promise<void>((r) => {
        this.#wake.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Marks `peer` (connected) verified here, as a user who compared its fingerprint would. */
  async verify(peer: string): Promise<void> {
    await this.send(`fingerprint ${peer}`);
    await this.waitLine(new RegExp(`^fingerprint ${peer} `));
    await this.send(`verify ${peer}`);
    await this.waitLine(new RegExp(`^verified ${peer}$`));
  }

  /** Ends the script (the node stops) and waits for the exit; returns the exit code. */
  async quit(): Promise<number> {
    await this.send("quit").catch(() => {});
    await this.#writer.close().catch(() => {});
    const s = await this.proc.status;
    await this.#reading;
    return s.code;
  }
}

/** Every file under `dir` with its SHA-256 (hex), sorted: a folder's exact state. */
export async function folderState(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const st = await Deno.stat(p);
      if (e.isDirectory) {
        out.push(`${p.slice(dir.length)}/ ${st.mode} ${st.mtime?.getTime()}`);
        await walk(p);
      } else {
        out.push(
          `${p.slice(dir.length)} ${st.size} ${st.mtime?.getTime()} ${await sha256Hex(
            await Deno.readFile(p),
          )}`,
        );
      }
    }
  };
  await walk(dir);
  return out.sort();
}
