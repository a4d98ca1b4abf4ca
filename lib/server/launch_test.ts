/**
 * lib/server/launch.ts with fake ports, in one process: the command line's mistakes as one line and
 * exit 1, a server started on a temporary data folder and stopped by the signal port (exit 0), by the
 * console's `/shutdown`, and a stop whose bound is read on the ports' clock (a clock past the bound cuts
 * the shutdown short: exit 1, `shutdown.pending`).
 */
import assert from "node:assert/strict";
import { type Clock, ManualClock } from "../common/clock.ts";
import { VERSION } from "../common/version.ts";
import { launch, type LaunchPorts } from "./launch.ts";

/** Fake ports: what was printed and logged, the stop the signal port got, the exit code as a promise. */
function fakePorts(args: string[], o: { clock?: Clock; console?: string[] } = {}) {
  const printed: string[] = [], printedErr: string[] = [], stdout: string[] = [], stderr: string[] = [];
  let stop: ((why: string) => void) | null = null;
  const exited = Promise.withResolvers<number>();
  const waiting: { re: RegExp; done: () => void }[] = [];
  const lines = Promise.withResolvers<void>();
  const ports: LaunchPorts = {
    args,
    env: { get: (n) => (n === "PATH" ? "" : undefined) }, // no ffmpeg, no PARLEY_STORE/BUS
    clock: o.clock ?? new ManualClock(),
    stdout: (t) => void stdout.push(t),
    stderr: (t) => {
      stderr.push(t);
      for (const w of waiting.filter((w) => w.re.test(t))) w.done();
    },
    print: (l) => void printed.push(l),
    printErr: (l) => void printedErr.push(l),
    signals: (s) => void (stop = s),
    exit: (c) => exited.resolve(c),
    console: {
      isTerminal: false,
      chunks: async function* () {
        await lines.promise;
        yield* o.console ?? [];
      },
    },
    readText: (p) => Deno.readTextFile(p),
    exists: (p) => Deno.stat(p).then(() => true, () => false),
    isFolder: (p) => Deno.stat(p).then((s) => s.isDirectory, () => false),
    fds: {
      limit: () => Promise.resolve(null),
      open: () => Promise.resolve(null),
      raise: () => Promise.resolve(),
    },
  };
  /** Resolves when a log line matching `re` is written to stderr. */
  const logged = (re: RegExp) =>
    stderr.some((l) => re.test(l))
      ? Promise.resolve()
      : new Promise<void>((done) => waiting.push({ re, done }));
  return {
    ports,
    printed,
    printedErr,
    stdout,
    stderr,
    exited: exited.promise,
    logged,
    signal: (why: string) => {
      assert.ok(stop, "the signal port was given the stop");
      stop(why);
    },
    typeConsole: () => lines.resolve(),
  };
}

Deno.test("launch: a mistake on the command line is one line on stderr and exit 1; --help, --version exit 0", async () => {
  const cases: [string[], number, "out" | "err", RegExp][] = [
    [["--help"], 0, "out", /^Parley server .*\n\nUsage:\n {2}parley-server \[options\]/s],
    [["--version"], 0, "out", new RegExp(`^parley-server ${VERSION.replace(/\./g, "\\.")}$`)],
    [["--log-level", "loud"], 1, "err", /^parley-server: --log-level must be debug, info, warn or error$/],
    [["frobnicate"], 1, "err", /^parley-server: Unknown command "frobnicate"; see --help$/],
    [["--no-such-flag"], 1, "err", /^parley-server: .*--no-such-flag/],
    [["--metrics", "nowhere"], 1, "err", /^parley-server: --metrics takes HOST:PORT .*got "nowhere"$/],
    [
      ["admin", "frob", "x"],
      1,
      "err",
      /^parley-server: Usage: admin grant\|revoke\|unlock NAME, or admin invite$/,
    ],
    [["backup"], 1, "err", /^parley-server: Usage: backup DEST$/],
    [["restore", "a", "b"], 1, "err", /^parley-server: Usage: restore SRC$/],
  ];
  for (const [args, code, stream, re] of cases) {
    const p = fakePorts(args);
    assert.deepEqual(await launch(p.ports), code, args.join(" "));
    const [said, other] = stream === "out" ? [p.printed, p.printedErr] : [p.printedErr, p.printed];
    assert.deepEqual(said.length, 1, `${args.join(" ")}: one line`);
    assert.match(said[0]!, re, args.join(" "));
    assert.deepEqual([other, p.stdout, p.stderr], [[], [], []], `${args.join(" ")}: nothing else`);
  }
});

/** Starts a server on a fresh data folder; `run` gets the fake ports once it said "listening". */
async function serving(
  o: { clock?: Clock; console?: string[]; args?: string[] },
  run: (p: ReturnType<typeof fakePorts>, at: { port: number; cert: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-launch-" });
  try {
    const p = fakePorts(["--data", dir, "--host", "127.0.0.1", "--port", "0", ...(o.args ?? [])], o);
    assert.deepEqual(await launch(p.ports), -1, p.printedErr.join("\n"));
    assert.match(
      p.stdout[0]!,
      /^Parley listening on 127\.0\.0\.1:\d+ \(TLS\) fingerprint SHA256:[0-9A-F:]+\nConnect: parley/i,
    );
    const port = Number(/:(\d+) \(TLS\)/.exec(p.stdout[0]!)![1]);
    await run(p, { port, cert: await Deno.readTextFile(`${dir}/cert.pem`) });
    await p.logged(/shutdown\.done/); // whatever the bound cut short has ended too
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("launch: the signal port's stop shuts down, logs why, exits 0; the console's /shutdown too", async () => {
  for (const [why, via] of [["SIGTERM", "signal"], ["SIGINT", "signal"], ["console", "console"]] as const) {
    const o = via === "console" ? { console: ["/who\n/shut", "down\n"], args: ["--console"] } : {};
    await serving(o, async (p) => {
      if (via === "console") p.typeConsole();
      else p.signal(why);
      assert.deepEqual(await p.exited, 0, why);
      assert.ok(
        p.stderr.some((l) => l.includes("signal") && l.includes(why)),
        `${why}: ${p.stderr.join("\n")}`,
      );
      assert.ok(!p.stderr.some((l) => /shutdown\.pending/.test(l)), why);
    });
  }
});

Deno.test("launch: the stop's bound is read on the ports' clock: past it, the shutdown is cut short and exit is 1", async () => {
  let jump = 0;
  const manual = new ManualClock();
  // Each reading after the signal is a minute later: every step of the stop finds its time spent at once.
  const clock = { now: () => (manual.advance(jump), manual.now()) };
  await serving({ clock, args: ["--stop-timeout", "1"] }, async (p, at) => {
    // A client that stays connected: the shutdown's "connection readers" wait for it to go.
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port: at.port, caCerts: [at.cert] });
    await conn.handshake();
    await p.logged(/conn\.open/);
    jump = 60_000;
    p.signal("SIGTERM");
    const code = await p.exited;
    conn.close();
    assert.deepEqual(code, 1, p.stderr.join("\n"));
    // Cut short when the clock said so (0 ms waited), not after the 1 s bound of the wall clock.
    const slow = p.stderr.find((l) => /shutdown\.slow step="server shutdown"/.test(l)) ?? "";
    assert.match(slow, /waited_ms=0 waiting="connection readers"/, p.stderr.join("\n"));
    assert.match(p.stderr.find((l) => /shutdown\.pending/.test(l)) ?? "", /server shutdown.* bound_ms=1000/);
  });
});
