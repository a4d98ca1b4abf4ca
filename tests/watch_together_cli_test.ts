/**
 * Watch together, scripted and measured (issue 39.7): three real `client.ts watch-together '#movie'
 * sample` processes (alice, the room's admin; bob and carol) against an in-process server. alice's
 * `pause`, `seek` and `play` reach every viewer (the time from alice's line to each viewer's printed
 * state is the step, printed as a figure: no cross-process duration is bounded, issue 70); `where`
 * then gives positions that agree: within 250 ms while paused (each player stops within its drift of
 * the shared position), and while playing no further apart than the time the answers took to come
 * plus 250 ms (each viewer's offset to the server's clock). bob,
 * not an admin, cannot control; a late joiner starts at the current position. No sleeps: a viewer
 * answering `where` has joined and reads its input; a position is waited for, not slept towards.
 * In a DM (`watch-together @bob sample`, two processes) both parties control it, in step the same way.
 */
import assert from "node:assert/strict";
import { eventually, PROGRAM_PERMS, rootFile, runProgram, startTestServer } from "./helpers.ts";
import { test } from "./deadline.ts";

/** How far apart two viewers' clocks may be once offset to the server's (a few pings each), ms. */
const OFFSET_MS = 250;

interface Viewer {
  lines: string[];
  times: number[];
  err: () => string;
  say: (line: string) => Promise<void>;
  done: Promise<Deno.CommandStatus>;
}

function watch(dir: string, port: number, user: string, conv = "#movie"): Viewer {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("client.ts"),
      "watch-together",
      conv,
      "sample",
      "--server",
      `127.0.0.1:${port}`,
      "--user",
      user,
      "--home",
      `${dir}/home-${user}`,
      "--trust-on-first-use",
    ],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PARLEY_PASSWORD: `pw-${user}-secret` },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const v: Viewer = { lines: [], times: [], err: () => err, say: async () => {}, done: child.status };
  let err = "";
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
  })();
  (async () => {
    let rest = "";
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) {
      const ls = (rest + c).split("\n");
      rest = ls.pop()!;
      for (const l of ls) v.lines.push(l), v.times.push(performance.now());
    }
  })();
  const w = child.stdin.getWriter();
  v.say = (line) => w.write(new TextEncoder().encode(line + "\n"));
  return v;
}

/** The first line matching `re` at or after index `from`, waited for; its index and arrival time. */
async function line(
  v: Viewer,
  re: RegExp,
  from = 0,
  ms = 15_000,
): Promise<{ i: number; at: number; text: string }> {
  const end = Date.now() + ms;
  for (;;) {
    const i = v.lines.findIndex((l, k) => k >= from && re.test(l));
    if (i >= 0) return { i, at: v.times[i]!, text: v.lines[i]! };
    if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(v.lines)}; stderr: ${v.err()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Each viewer's `where`, and how long the answers took to come (ms, the test's clock). */
async function sampled(vs: Viewer[]): Promise<{ p: number[]; tookMs: number }> {
  const from = vs.map((v) => v.lines.length);
  const t0 = performance.now();
  await Promise.all(vs.map((v) => v.say("where")));
  const ls = await Promise.all(vs.map((v, k) => line(v, /^position /, from[k])));
  return {
    p: ls.map((l) => Number(l.text.match(/position ([\d.]+)s/)![1]) * 1000),
    tookMs: performance.now() - t0,
  };
}

async function positions(vs: Viewer[]): Promise<number[]> {
  return (await sampled(vs)).p;
}

/**
 * Positions of viewers playing, once the first is past `pastMs`: they follow one shared state, so
 * they lie no further apart than the time between the first and the last answer, plus the clocks'
 * offsets. Returns them and their spread.
 */
async function playingPositions(vs: Viewer[], pastMs: number): Promise<{ p: number[]; spread: number }> {
  for (const end = Date.now() + 15_000;;) {
    const { p, tookMs } = await sampled(vs);
    const spread = Math.max(...p) - Math.min(...p);
    if (p[0]! > pastMs) {
      assert.ok(
        spread <= tookMs + OFFSET_MS,
        `playing at ${p}: ${spread} ms apart, answers took ${tookMs} ms`,
      );
      return { p, spread };
    }
    if (Date.now() > end) throw new Error(`never past ${pastMs} ms: ${p}`);
  }
}

/** Runs `client.ts` as USER of test server `t` (own home folder, trust on first use). */
const programCli = (t: { port: number; dir: string }) => (u: string, ...a: string[]) =>
  runProgram("client.ts", [
    ...a,
    "--server",
    `127.0.0.1:${t.port}`,
    "--user",
    u,
    "--home",
    `${t.dir}/home-${u}`,
    "--trust-on-first-use",
  ], { PARLEY_PASSWORD: `pw-${u}-secret` });

test({
  name: "watch together: three scripted viewers stay in step through pause, seek and play",
  deadlineMs: 110_000,
  fn: async () => {
    const t = await startTestServer();
    const cli = programCli(t);
    const vs: Viewer[] = [];
    try {
      for (const u of ["alice", "bob", "carol", "dave"]) assert.equal((await cli(u, "register")).code, 0);
      const r = await cli("alice", "room", "create", "movie", "bob", "carol", "dave");
      assert.equal(r.code, 0, r.err);
      const [bob, carol] = [watch(t.dir, t.port, "bob"), watch(t.dir, t.port, "carol")];
      vs.push(bob, carol);
      await positions([bob, carol]); // both answer `where`: joined, live, before alice starts
      const alice = watch(t.dir, t.port, "alice");
      vs.push(alice);
      for (const v of vs) await line(v, /^playing sample at 0\.000s by alice \(n 1\)$/);
      const steps: number[] = [];
      const change = async (cmd: string, re: RegExp) => {
        const from = vs.map((v) => v.lines.length);
        const t0 = performance.now();
        await alice.say(cmd);
        for (const [k, v] of vs.entries()) steps.push((await line(v, re, from[k])).at - t0);
      };
      await playingPositions([alice], 1000); // played a while before the pause
      await change("pause", /^paused sample at [\d.]+s by alice \(n 2\)$/);
      let p = await positions(vs);
      assert.ok(Math.max(...p) - Math.min(...p) <= OFFSET_MS, `paused together: ${p}`);
      // alice paused once her own position passed 1 s; the others' may lie up to OFFSET_MS either side.
      assert.ok(p[2]! > 1000, `played a while before the pause: ${p}`);
      await change("seek 60", /^paused sample at 60\.000s by alice \(n 3\)$/);
      p = await positions(vs);
      assert.deepEqual(p, [60_000, 60_000, 60_000]);
      await change("play", /^playing sample at 60\.000s by alice \(n 4\)$/);
      const { spread } = await playingPositions(vs, 60_500);
      // bob has no right: refused at his own client, nothing reaches the others.
      const before = alice.lines.length;
      await bob.say("pause");
      await eventually(
        () => /only an admin of #movie controls its video/.test(bob.err()),
        15_000,
        "bob refused",
      );
      // The fence: carol's and alice's answers come after anything bob's refused pause could have sent.
      await positions([alice, carol]);
      assert.deepEqual(
        alice.lines.slice(before).filter((l) => !/^position /.test(l)),
        [],
        "nothing reached alice",
      );
      // dave joins late: he starts at the current position.
      const dave = watch(t.dir, t.port, "dave");
      vs.push(dave);
      await line(dave, /^playing sample at 60\.000s by alice \(n 4\)$/);
      await playingPositions([alice, dave], 60_000); // the late joiner where alice is
      console.log(
        `watch-together step (alice's line → each viewer's state line): max ${
          Math.max(...steps).toFixed(0)
        } ms, ` +
          `mean ${(steps.reduce((a, b) => a + b, 0) / steps.length).toFixed(0)} ms; playing spread ${
            spread.toFixed(0)
          } ms (figures, not bounded)`,
      );
    } finally {
      for (const v of vs) await v.say("quit").catch(() => {});
      await Promise.all(vs.map((v) => v.done));
      await t.stop();
    }
  },
});

test({
  name: "watch together in a DM: either party plays, pauses and seeks for both, in step",
  deadlineMs: 110_000,
  fn: async () => {
    const t = await startTestServer();
    const cli = programCli(t);
    const vs: Viewer[] = [];
    try {
      for (const u of ["alice", "bob"]) assert.equal((await cli(u, "register")).code, 0);
      // Neither wrote to the other first: the first signals start the sessions (issue 39).
      const bob = watch(t.dir, t.port, "bob", "@alice");
      vs.push(bob);
      // bob hears no state within a second: he starts the video for both.
      await line(bob, /^playing sample at 0\.000s by bob \(n 1\)$/);
      const alice = watch(t.dir, t.port, "alice", "@bob");
      vs.push(alice);
      await line(alice, /^playing sample at [\d.]+s by bob \(n 1\)$/); // joined late: where bob is
      await positions([alice]); // alice reads stdin once her start-up second is over: she answers then
      let p = (await playingPositions(vs, 500)).p; // the late joiner where bob is
      const steps: number[] = [];
      const change = async (who: Viewer, cmd: string, re: RegExp) => {
        const from = vs.map((v) => v.lines.length);
        const t0 = performance.now();
        await who.say(cmd);
        for (const [k, v] of vs.entries()) steps.push((await line(v, re, from[k])).at - t0);
      };
      await change(alice, "pause", /^paused sample at [\d.]+s by alice \(n 2\)$/);
      p = await positions(vs);
      assert.ok(Math.max(...p) - Math.min(...p) <= OFFSET_MS, `paused together: ${p}`);
      await change(bob, "seek 30", /^paused sample at 30\.000s by bob \(n 3\)$/);
      assert.deepEqual(await positions(vs), [30_000, 30_000]);
      await change(alice, "play", /^playing sample at 30\.000s by alice \(n 4\)$/);
      const { spread } = await playingPositions(vs, 30_500);
      console.log(
        `watch-together in a DM: step max ${Math.max(...steps).toFixed(0)} ms; playing spread ${
          spread.toFixed(0)
        } ms (figures, not bounded)`,
      );
      for (const v of vs) assert.doesNotMatch(v.lines.join("\n"), /^refused/m);
    } finally {
      for (const v of vs) await v.say("quit").catch(() => {});
      await Promise.all(vs.map((v) => v.done));
      await t.stop();
    }
  },
});
