/**
 * A raw IRC client over TCP for the IRC face's tests (issue 72): lines written as they are, lines
 * read into a list that `waitFor` watches (an event, not a sleep).
 */
import { type IrcOptions, startIrc } from "../lib/client/irc/mod.ts";
import { systemClock } from "../lib/common/clock.ts";

/** The face on a free loopback port with `password` (tests' defaults: the real clock, `log` or nothing). */
export function localIrc(
  backend: Parameters<typeof startIrc>[0],
  password: string,
  more: Partial<IrcOptions> = {},
): ReturnType<typeof startIrc> {
  return startIrc(backend, {
    host: "127.0.0.1",
    port: 0,
    password,
    clock: systemClock,
    log: () => {},
    ...more,
  });
}

export class RawIrc {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];
  closed = false;
  readonly #enc = new TextEncoder();

  private constructor(readonly conn: Deno.Conn) {
    void this.#read();
  }

  static async open(port: number): Promise<RawIrc> {
    return new RawIrc(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Over TLS, trusting only certificate `ca` (pinned). */
  static async openTls(port: number, ca: string): Promise<RawIrc> {
    return new RawIrc(await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] }));
  }

  async #read(): Promise<void> {
    let rest = "";
    try {
      for await (const c of this.conn.readable.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + c).split("\r\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch { /* reset */ }
    this.closed = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async send(...lines: string[]): Promise<void> {
    await this.conn.write(this.#enc.encode(lines.map((l) => l + "\r\n").join("")));
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    for (let o = 0; o < bytes.length;) o += await this.conn.write(bytes.subarray(o));
  }

  /** The first line from index `from` on that matches, waited for up to `ms`. */
  async waitFor(re: RegExp, ms = 10_000, from = 0): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (this.closed) throw new Error(`closed before ${re}:\n${this.lines.join("\n")}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no line ${re} in:\n${this.lines.join("\n")}`);
      let id: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        id = setTimeout(r, left);
      });
      clearTimeout(id);
    }
  }

  /** Registers with `caps` requested (none: no CAP at all) and waits for the welcome's end. */
  async register(password: string, caps: string[] | null = null, nick = "whoever"): Promise<void> {
    if (caps) await this.send("CAP LS 302");
    await this.send(`PASS ${password}`, `NICK ${nick}`, "USER u 0 * :Real Name");
    if (caps) {
      if (caps.length) await this.send(`CAP REQ :${caps.join(" ")}`);
      await this.send("CAP END");
    }
    await this.waitFor(/ 422 /);
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
