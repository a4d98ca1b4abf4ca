/**
 * Files bench (`deno task bench files`, issues 12 and 36): one file of PARLEY_BENCH_FILE_MIB MiB
 * (default 1024) copied over loopback PARLEY_BENCH_FILE_REPEAT times (default 3) in each mode; each
 * row is the median with its range. Every copy is measured the same way — wall time from starting
 * the copy until the receiver has every byte (MB/s = 10^6 bytes per second), CPU seconds per GiB of
 * each process (user + system: bash's `times` for the clients we start, /proc for servers and peer
 * nodes), resident memory read from outside through /proc:
 *   - raw TCP and scp (files_ref.ts: the floor and the target),
 *   - Parley relayed: `client.ts send-file --relay` and `client.ts receive --relay` processes through
 *     a spawned `server.ts` (times include starting Deno, the argon2id login and the sender's
 *     SHA-256 pass), the server's RSS growth over its RSS after, or its peak during, a 1 MiB warm-up
 *     copy, whichever is higher (every copy's logins and hashing workers are not the file's cost), the
 *     receiving client's peak RSS;
 *   - Parley direct: the same with `send-file --direct` (the recipient's client listens, the sender
 *     connects; the server only carries the end-to-end candidate);
 *   - Parley peer mode (files_peer.ts): two `parley peer` nodes, no server.
 * After the relayed rows, the runtime's floor under them (tls_floor.ts: a bare TLS server receiving
 * 512 MiB through node:tls, as Parley's listener does, and through Deno.listenTls, and why the server
 * cannot take the second). Then each mode's rate over scp's. PARLEY_BENCH_FILE_ONLY=relay|direct|peer|scp|tcp: that mode alone.
 */
import { hashFile } from "../../lib/client/files/disk.ts";
import { PROGRAM_PERMS, rootFile } from "../helpers.ts";
import { startServer, stopServer } from "./bench_server.ts";
import { childPid, GIB, makeFile, MB, rssPeak, spawnTimed } from "./files_proc.ts";
import { haveSshd, SCP_SKIPPED, scpCopy, tcpCopy } from "./files_ref.ts";
import { peerCopies } from "./files_peer.ts";
import { tlsFloorRows } from "./tls_floor.ts";
import { makeSelfSignedCert } from "../../lib/net/cert.ts";
import { cpuMicros, mergeRuns, phase, repeated, type Row, rssKb } from "./proc.ts";

/** PARLEY_BENCH_PROF=DIR: the server and client processes write V8 CPU profiles there (deno --cpu-prof). */
const PROF_DIR = Deno.env.get("PARLEY_BENCH_PROF");
const PROF = PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`] : [];

type Mode = "relay" | "direct";

async function parleyCopies(
  root: string,
  src: string,
  sum: string,
  bytes: number,
  mode: Mode,
  times: number,
) {
  const dir = `${root}/${mode}`;
  await Deno.mkdir(dir);
  const data = `${dir}/server`;
  await Deno.mkdir(data);
  const srv = await startServer(data, ["--file-quota", String(4 * bytes + (1 << 30))], PROF);
  /** The server's peak RSS (KiB) during the warm-up copy. */
  let warmPeak = 0;
  const client = (home: string, user: string, ...args: string[]) =>
    spawnTimed(
      [
        Deno.execPath(),
        "run",
        ...PROGRAM_PERMS,
        ...PROF,
        rootFile("client.ts"),
        ...args,
        ...["--server", `127.0.0.1:${srv.port}`, "--user", user, "--home", home, "--trust-on-first-use"],
      ],
      { PARLEY_PASSWORD: `pw-${user}-secret` },
    );
  const copy = (file: string, out: string, mode?: Mode) => {
    const receive = ["receive", "--from", "alice", "--out", out, "--timeout", "120"];
    return [
      client(`${dir}/home-alice`, "alice", "send-file", "bob", file, ...(mode ? [`--${mode}`] : [])),
      client(`${dir}/home-bob`, "bob", ...receive, ...(mode === "relay" ? ["--relay"] : [])),
    ] as const;
  };
  try {
    for (const u of ["alice", "bob"]) {
      const r = await client(`${dir}/home-${u}`, u, "register").done;
      if (r.code !== 0) throw new Error(`register ${u}: ${r.err}`);
    }
    // Warm-up (logins, hashing workers, first file): the idle RSS is taken during and after it.
    await makeFile(`${dir}/warm.bin`, 1 << 20);
    const warmRss = rssPeak(() => Promise.resolve(srv.pid));
    const warm = await Promise.all(copy(`${dir}/warm.bin`, `${dir}/warm`).map((c) => c.done));
    warmPeak = await warmRss.stop();
    if (warm.some((r) => r.code !== 0)) throw new Error(`warm-up copy failed: ${warm.map((r) => r.err)}`);
    const runs: Row[][] = [];
    for (let i = 0; i < times; i++) runs.push(await oneCopy());
    return mergeRuns(runs);
  } finally {
    await stopServer(srv);
  }

  async function oneCopy(): Promise<Row[]> {
    // What any copy costs the server (two logins, their workers) is not the file's: the growth is
    // counted over the peak of the 1 MiB warm-up copy when that is higher than the RSS now.
    const idle = Math.max(await rssKb(srv.pid), warmPeak);
    const server = rssPeak(() => Promise.resolve(srv.pid));
    const cpu0 = await cpuMicros(srv.pid);
    const t0 = performance.now();
    const [sender, receiver] = copy(src, `${dir}/down`, mode);
    const client = rssPeak(() => childPid(receiver.pid));
    const [send, recv] = await phase(`${mode} copy`, 30 * 60_000, Promise.all([sender.done, receiver.done]));
    const secs = (performance.now() - t0) / 1000;
    const serverCpu = ((await cpuMicros(srv.pid)) - cpu0) / 1e6;
    const [peak, clientPeak] = [await server.stop(), await client.stop()];
    if (send.code !== 0 || recv.code !== 0 || !recv.out.includes(`${bytes} ${sum}`)) {
      throw new Error(`${mode} copy failed: ${send.err} ${recv.err} ${recv.out}`);
    }
    if (mode === "direct" && !send.err.includes("went straight to")) {
      throw new Error(`direct copy went through the server: ${send.err}`);
    }
    await Deno.remove(`${dir}/down`, { recursive: true });
    const label = mode === "relay" ? "relayed" : "direct";
    const gib = bytes / GIB;
    return [
      { name: `Parley ${label} (send-file --${mode} + receive)`, value: bytes / MB / secs, unit: "MB/s" },
      { name: `${label}: sender CPU per GiB`, value: send.cpu / gib, unit: "s" },
      { name: `${label}: server CPU per GiB`, value: serverCpu / gib, unit: "s" },
      { name: `${label}: receiver CPU per GiB`, value: recv.cpu / gib, unit: "s" },
      {
        name: `${label}: server RSS growth`,
        value: (Math.max(peak, idle) - idle) / 1024,
        unit: "MiB",
        ...(mode === "relay" ? { target: "≤ 64" } : {}),
      },
      { name: `${label}: receiver RSS peak`, value: clientPeak / 1024, unit: "MiB", target: "≤ 128" },
    ];
  }
}

export async function benchFiles(mib = 1024, times = 3): Promise<Row[]> {
  const bytes = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "parley-files-bench-" });
  try {
    const src = `${dir}/src.bin`;
    await makeFile(src, bytes);
    const sum = await hashFile(src);
    const only = Deno.env.get("PARLEY_BENCH_FILE_ONLY");
    const want = (m: string) => !only || only === m;
    const rows: Row[] = [];
    if (want("tcp")) {
      rows.push(
        ...await repeated(times, async () => {
          const r = await tcpCopy(src, `${dir}/tcp.bin`, bytes);
          await Deno.remove(`${dir}/tcp.bin`);
          return r;
        }),
      );
    }
    const scp = !want("scp") ? [] : !haveSshd() ? [SCP_SKIPPED] : await repeated(times, async () => {
      const r = await scpCopy(dir, src, `${dir}/scp.bin`, bytes);
      await Deno.remove(`${dir}/scp.bin`);
      return r;
    });
    rows.push(...scp);
    const modes: [string, string, Row[]][] = [];
    for (
      const [m, label, target] of [["relay", "relayed", "≥ 0.75"], ["direct", "direct", "≥ 1.0"]] as const
    ) {
      if (!want(m)) continue;
      const r = await parleyCopies(dir, src, sum, bytes, m, times);
      rows.push(...r);
      modes.push([label, target, r]);
      // What the runtime's TLS server alone costs to receive (the relay's upload leg), beside it.
      if (m === "relay") {
        rows.push(...await tlsFloorRows(dir, await makeSelfSignedCert(["127.0.0.1"]), 512, times));
      }
    }
    if (want("peer")) {
      const r = await peerCopies(dir, src, sum, bytes, times);
      rows.push(...r);
      modes.push(["peer mode", "≥ 1.0", r]);
    }
    const scpRate = scp[0]?.value ?? NaN;
    for (const [label, target, r] of modes) {
      if (!Number.isFinite(scpRate)) break;
      rows.push({ name: `${label} / scp (medians)`, value: r[0]!.value / scpRate, unit: "×", target });
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
