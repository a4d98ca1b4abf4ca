/**
 * Files bench (`deno task bench files`, issue 12): one file of PARLEY_BENCH_FILE_MIB MiB (default
 * 1024) copied over loopback, each copy measured the same way — wall time from starting the
 * processes until the receiver has every byte (MB/s = 10^6 bytes per second), CPU seconds of each
 * process (user + system, from bash's `times` for the children we start, from /proc for servers):
 *   - raw TCP (tests/bench/tcp_copy.ts: the floor, no encryption),
 *   - scp to a private sshd (own host key, authorized_keys, free port; skipped with a reason when
 *     /usr/sbin/sshd is missing),
 *   - Parley relayed: `client.ts send-file` and `client.ts receive` processes through a spawned
 *     `server.ts` (times include starting Deno, the argon2id login and the sender's SHA-256 pass),
 *     with the server's resident memory sampled during the copy (growth over its RSS after a 1 MiB
 *     warm-up copy: logins and hashing workers are not the file's cost).
 *   - Parley direct: the same with `send-file --direct` (the recipient's client listens, the sender
 *     connects; the server only carries the end-to-end candidate), and `relayed` uses `--relay` on
 *     both ends.
 */
import { hashFile } from "../../lib/client/files/disk.ts";
import { PROGRAM_PERMS, rootFile } from "../helpers.ts";
import { startServer, stopServer } from "./bench_server.ts";
import { cpuMicros, phase, type Row, rssKb } from "./proc.ts";

const MB = 1e6;
/** PARLEY_BENCH_PROF=DIR: the server and client processes write V8 CPU profiles there (deno --cpu-prof). */
const PROF_DIR = Deno.env.get("PARLEY_BENCH_PROF");
const PROF = PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`] : [];

/** Runs a command under bash and returns its exit, output and children's CPU seconds. */
async function timed(cmd: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command("bash", {
    args: ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bash", ...cmd],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
  }).spawn();
  const o = await child.output();
  const err = new TextDecoder().decode(o.stderr).trim().split("\n");
  const sec = (s: string) => {
    const m = s.match(/(\d+)m([\d.]+)s/);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  const [u, s] = (err.at(-1) ?? "").split(" ");
  return {
    code: o.code,
    out: new TextDecoder().decode(o.stdout),
    err: err.slice(0, -2).join("\n"),
    cpu: sec(u ?? "") + sec(s ?? ""),
  };
}

async function makeFile(path: string, bytes: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(1 << 20);
  for (let done = 0; done < bytes; done += buf.length) {
    for (let i = 0; i < buf.length; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
    await f.write(buf.subarray(0, Math.min(buf.length, bytes - done)));
  }
  f.close();
}

async function tcpCopy(src: string, dst: string, bytes: number): Promise<Row[]> {
  const recv = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", rootFile("tests/bench/tcp_copy.ts"), "recv", dst],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = recv.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) line += (await reader.read()).value ?? "";
  const t0 = performance.now();
  const send = await timed([
    Deno.execPath(),
    "run",
    "-A",
    rootFile("tests/bench/tcp_copy.ts"),
    "send",
    line.trim(),
    src,
  ]);
  await recv.status;
  const secs = (performance.now() - t0) / 1000;
  if (send.code !== 0 || (await Deno.stat(dst)).size !== bytes) {
    throw new Error(`tcp copy failed: ${send.err}`);
  }
  return [
    { name: "raw TCP copy (Deno, loopback)", value: bytes / MB / secs, unit: "MB/s" },
    { name: "raw TCP: sender CPU", value: send.cpu, unit: "s" },
  ];
}

async function scpCopy(dir: string, src: string, dst: string, bytes: number): Promise<Row[]> {
  try {
    await Deno.stat("/usr/sbin/sshd");
  } catch {
    return [{
      name: "scp: skipped (no /usr/sbin/sshd; apt-get install openssh-server)",
      value: NaN,
      unit: "",
    }];
  }
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  const k = `${dir}/ssh`;
  await Deno.mkdir(k);
  for (const [t, f] of [["ed25519", "host"], ["ed25519", "user"]]) {
    await timed(["ssh-keygen", "-q", "-t", t!, "-N", "", "-f", `${k}/${f}`]);
  }
  await Deno.copyFile(`${k}/user.pub`, `${k}/authorized_keys`);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Deno.writeTextFile(
    `${k}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${k}/host`,
      `AuthorizedKeysFile ${k}/authorized_keys`,
      `PidFile ${k}/sshd.pid`,
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "Subsystem sftp internal-sftp",
    ].join("\n") + "\n",
  );
  const sshd = new Deno.Command("/usr/sbin/sshd", {
    args: ["-D", "-e", "-f", `${k}/sshd_config`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const opts = [
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
    ];
    for (let i = 0;; i++) { // until sshd listens
      const r = await timed(["ssh", "-p", String(port), "-i", `${k}/user`, ...opts, "127.0.0.1", "true"]);
      if (r.code === 0) break;
      if (i > 50) throw new Error(`sshd did not come up: ${r.err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await cpuChildren(sshd.pid);
    const t0 = performance.now();
    const r = await timed([
      "scp",
      "-q",
      "-P",
      String(port),
      "-i",
      `${k}/user`,
      ...opts,
      src,
      `127.0.0.1:${dst}`,
    ]);
    const secs = (performance.now() - t0) / 1000;
    const server = (await cpuChildren(sshd.pid)) - before;
    if (r.code !== 0 || (await Deno.stat(dst)).size !== bytes) throw new Error(`scp failed: ${r.err}`);
    return [
      { name: "scp (OpenSSH, loopback)", value: bytes / MB / secs, unit: "MB/s" },
      { name: "scp: client CPU", value: r.cpu, unit: "s" },
      { name: "scp: sshd CPU (session processes)", value: server, unit: "s" },
    ];
  } finally {
    sshd.kill("SIGTERM");
    await sshd.status;
  }
}

/** CPU seconds of `pid` and its reaped children (/proc/PID/stat utime+stime+cutime+cstime). */
async function cpuChildren(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(async () =>
    new TextDecoder().decode(
      (await new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stdout: "piped" }).output()).stdout,
    )
  );
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  const tck = 100;
  return (f[11]! + f[12]! + f[13]! + f[14]!) / tck;
}

async function parleyCopy(
  root: string,
  src: string,
  bytes: number,
  mode: "relay" | "direct",
): Promise<Row[]> {
  const dir = `${root}/${mode}`;
  await Deno.mkdir(dir);
  const data = `${dir}/server`;
  await Deno.mkdir(data);
  const srv = await startServer(data, ["--file-quota", String(4 * bytes + (1 << 30))], PROF);
  const client = (home: string, user: string, ...args: string[]) =>
    timed(
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
  try {
    for (const u of ["alice", "bob"]) {
      const r = await client(`${dir}/home-${u}`, u, "register");
      if (r.code !== 0) throw new Error(`register ${u}: ${r.err}`);
    }
    // Warm-up (logins, hashing workers, first file): the idle RSS is taken after it.
    await makeFile(`${dir}/warm.bin`, 1 << 20);
    const warm = await Promise.all([
      client(`${dir}/home-alice`, "alice", "send-file", "bob", `${dir}/warm.bin`),
      client(
        `${dir}/home-bob`,
        "bob",
        "receive",
        "--from",
        "alice",
        "--out",
        `${dir}/warm`,
        "--timeout",
        "60",
      ),
    ]);
    if (warm.some((r) => r.code !== 0)) throw new Error(`warm-up copy failed: ${warm.map((r) => r.err)}`);
    const idle = await rssKb(srv.pid);
    let peak = idle;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssKb(srv.pid).catch(() => 0));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const cpu0 = await cpuMicros(srv.pid);
    const t0 = performance.now();
    const [send, recv] = await phase(
      `${mode} copy`,
      30 * 60_000,
      Promise.all([
        client(`${dir}/home-alice`, "alice", "send-file", "bob", src, `--${mode}`),
        client(
          `${dir}/home-bob`,
          "bob",
          "receive",
          "--from",
          "alice",
          "--out",
          `${dir}/down`,
          "--timeout",
          "120",
          ...(mode === "relay" ? ["--relay"] : []),
        ),
      ]),
    );
    const secs = (performance.now() - t0) / 1000;
    const serverCpu = ((await cpuMicros(srv.pid)) - cpu0) / 1e6;
    sampling = false;
    await sampler;
    const sum = await hashFile(src); // streamed: the 1 GiB file is checked too
    if (send.code !== 0 || recv.code !== 0 || !recv.out.includes(String(bytes))) {
      throw new Error(`${mode} copy failed: ${send.err} ${recv.err}`);
    }
    if (!recv.out.includes(sum)) {
      throw new Error(`${mode} copy: SHA-256 differs`);
    }
    if (mode === "direct" && !send.err.includes("went straight to")) {
      throw new Error(`direct copy went through the server: ${send.err}`);
    }
    await Deno.remove(`${dir}/down`, { recursive: true });
    const label = mode === "relay" ? "relayed" : "direct";
    return [
      { name: `Parley ${label} (send-file --${mode} + receive)`, value: bytes / MB / secs, unit: "MB/s" },
      { name: `${label}: sender client CPU`, value: send.cpu, unit: "s" },
      { name: `${label}: server CPU`, value: serverCpu, unit: "s" },
      { name: `${label}: receiver client CPU`, value: recv.cpu, unit: "s" },
      {
        name: `${label} ${bytes >> 20} MiB: server RSS growth`,
        value: (peak - idle) / 1024,
        unit: "MiB",
        ...(mode === "relay" ? { target: "< 64" } : {}),
      },
    ];
  } finally {
    await stopServer(srv);
  }
}

export async function benchFiles(mib = 1024): Promise<Row[]> {
  const bytes = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "parley-files-bench-" });
  try {
    const src = `${dir}/src.bin`;
    await makeFile(src, bytes);
    const only = Deno.env.get("PARLEY_BENCH_FILE_ONLY"); // "relay" or "direct": that copy alone
    if (only === "relay" || only === "direct") return await parleyCopy(dir, src, bytes, only);
    const rows = [...await tcpCopy(src, `${dir}/tcp.bin`, bytes)];
    await Deno.remove(`${dir}/tcp.bin`);
    const scp = await scpCopy(dir, src, `${dir}/scp.bin`, bytes);
    rows.push(...scp);
    await Deno.remove(`${dir}/scp.bin`).catch(() => {});
    const rel = await parleyCopy(dir, src, bytes, "relay");
    const dir2 = await parleyCopy(dir, src, bytes, "direct");
    rows.push(...rel, ...dir2);
    const scpRate = scp[0]!.value;
    if (Number.isFinite(scpRate)) {
      rows.push({ name: "relayed / scp", value: rel[0]!.value / scpRate, unit: "×", target: "≥ 0.75" });
      rows.push({ name: "direct / scp", value: dir2[0]!.value / scpRate, unit: "×", target: "≥ 1.0" });
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
