/**
 * Files A/B (issue 36): the same copy with the clients of two checkouts, interleaved copy by copy,
 * for a change whose effect is smaller than the drift of a shared machine (`deno task bench files`
 * runs whole modes one after another; here, with other work on the two cores, its medians moved
 * ±40% between identical runs). One `server.ts` of this checkout; each round copies the file once
 * with each checkout's `client.ts` (`send-file --direct|--relay` + `receive`), the order swapped
 * every round; per copy the rate (wall time from starting both clients until the receiver has it,
 * MB/s = 10^6 B/s) and each client's CPU seconds per GiB; then per checkout the medians and how
 * many pairs each won.
 *
 *   deno run -A tests/bench/files_ab.ts MIB ROUNDS CHECKOUT_A CHECKOUT_B [direct|relay]
 *
 * A checkout is a folder with `client.ts` (e.g. `git worktree add` or `git archive | tar -x` of the
 * base; it needs this checkout's protocol). PARLEY_AB_SERVERS=each: every checkout copies through its
 * own `server.ts` (a server change's A/B), and each copy prints the server's CPU per GiB too.
 */
import { hashFile } from "../../lib/client/files/disk.ts";
import { PROGRAM_PERMS } from "../helpers.ts";
import { type Srv, startServer, stopServer } from "./bench_server.ts";
import { GIB, makeFile, MB, spawnTimed } from "./files_proc.ts";
import { cpuMicros } from "./proc.ts";

interface Copy {
  rate: number;
  sender: number;
  receiver: number;
  server: number;
}

const EACH = Deno.env.get("PARLEY_AB_SERVERS") === "each";

const median = (l: number[]) => [...l].sort((p, q) => p - q)[Math.floor(l.length / 2)] ?? NaN;

async function main(mib: number, rounds: number, trees: [string, string], mode: "direct" | "relay") {
  const bytes = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "parley-files-ab-" });
  const src = `${dir}/src.bin`;
  await makeFile(src, bytes);
  const sum = await hashFile(src);
  // Direct copies leave their (empty) server files until they expire: room for every round.
  const quota = ["--file-quota", String(4 * rounds * bytes + GIB)];
  const srvs = new Map<string, Srv>();
  for (const [k, tree] of (EACH ? trees : trees.slice(0, 1)).entries()) {
    await Deno.mkdir(`${dir}/server${k}`);
    const root = EACH ? `${new URL(tree, `file://${Deno.cwd()}/`).pathname.replace(/\/?$/, "/")}` : undefined;
    srvs.set(tree, await startServer(`${dir}/server${k}`, quota, [], root));
  }
  const srvOf = (tree: string) => srvs.get(tree) ?? srvs.get(trees[0])!;
  const client = (tree: string, user: string, ...args: string[]) =>
    spawnTimed(
      [
        Deno.execPath(),
        "run",
        ...PROGRAM_PERMS,
        `${tree}/client.ts`,
        ...args,
        ...["--server", `127.0.0.1:${srvOf(tree).port}`, "--user", user],
        ...["--home", `${dir}/home-${user}${EACH ? trees.indexOf(tree) : ""}`],
        "--trust-on-first-use",
      ],
      { PARLEY_PASSWORD: `pw-${user}-secret` },
    );
  const copy = async (tree: string): Promise<Copy> => {
    const cpu0 = await cpuMicros(srvOf(tree).pid);
    const t0 = performance.now();
    const [s, r] = await Promise.all([
      client(tree, "alice", "send-file", "bob", src, `--${mode}`).done,
      client(
        tree,
        "bob",
        "receive",
        "--from",
        "alice",
        "--out",
        `${dir}/down`,
        "--timeout",
        "120",
        ...(
          mode === "relay" ? ["--relay"] : []
        ),
      ).done,
    ]);
    const secs = (performance.now() - t0) / 1000;
    const server = (await cpuMicros(srvOf(tree).pid) - cpu0) / 1e6 / (bytes / GIB);
    if (s.code || r.code || !r.out.includes(`${bytes} ${sum}`)) {
      throw new Error(`copy failed: ${s.err} ${r.err}`);
    }
    await Deno.remove(`${dir}/down`, { recursive: true });
    return {
      rate: bytes / MB / secs,
      sender: s.cpu / (bytes / GIB),
      receiver: r.cpu / (bytes / GIB),
      server,
    };
  };
  const got: Record<string, Copy[]> = { [trees[0]]: [], [trees[1]]: [] };
  try {
    for (const tree of EACH ? trees : trees.slice(0, 1)) {
      for (const u of ["alice", "bob"]) {
        if ((await client(tree, u, "register").done).code) throw new Error(`register ${u} failed`);
      }
      await copy(tree); // warm-up: logins, first file
    }
    for (let i = 0; i < rounds; i++) {
      for (const tree of i % 2 ? [trees[1], trees[0]] : trees) {
        const c = await copy(tree);
        got[tree]!.push(c);
        const f = (x: number) => x.toFixed(2);
        console.log(
          `${tree}  ${c.rate.toFixed(1)} MB/s  sender ${f(c.sender)}  receiver ${f(c.receiver)}  server ${
            f(c.server)
          } s/GiB`,
        );
      }
    }
  } finally {
    for (const s of srvs.values()) await stopServer(s);
    await Deno.remove(dir, { recursive: true });
  }
  for (const [k, tree] of trees.entries()) {
    const l = got[tree]!, other = got[trees[1 - k]!]!;
    const won = l.filter((c, i) => c.rate > other[i]!.rate).length;
    console.log(
      `median ${tree}: ${median(l.map((c) => c.rate)).toFixed(1)} MB/s, sender ${
        median(l.map((c) => c.sender)).toFixed(2)
      }, receiver ${median(l.map((c) => c.receiver)).toFixed(2)}, server ${
        median(l.map((c) => c.server)).toFixed(2)
      } s/GiB; faster in ${won} of ${l.length} rounds`,
    );
  }
}

if (import.meta.main) {
  const [mib, rounds, a, b, mode = "direct"] = Deno.args;
  if (!a || !b || (mode !== "direct" && mode !== "relay")) {
    console.error("usage: files_ab.ts MIB ROUNDS CHECKOUT_A CHECKOUT_B [direct|relay]");
    Deno.exit(2);
  }
  await main(Number(mib), Number(rounds), [a, b], mode);
}
