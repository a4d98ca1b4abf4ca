/**
 * The reference copies of the files bench, over loopback, each measured like Parley's (wall time
 * until the receiver has every byte; CPU seconds per GiB of each end):
 *   - raw TCP (tests/bench/tcp_copy.ts: the floor, no encryption, no framing),
 *   - scp to a private sshd (own host key and authorized_keys in a temp folder, a free port, stopped
 *     by PID; one row saying it was skipped when /usr/sbin/sshd is missing).
 */
import { rootFile } from "../helpers.ts";
import { GIB, MB, spawnTimed, timed } from "./files_proc.ts";
import { cpuMicros, type Row } from "./proc.ts";

export async function tcpCopy(src: string, dst: string, bytes: number): Promise<Row[]> {
  const recv = spawnTimed([Deno.execPath(), "run", "-A", rootFile("tests/bench/tcp_copy.ts"), "recv", dst]);
  let port = "";
  for (let i = 0; !port; i++) { // the receiver prints its port once it listens
    port = await Deno.readTextFile(`${dst}.port`).catch(() => "");
    if (i > 300) throw new Error("tcp_copy recv did not start");
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = performance.now();
  const send = await timed([
    Deno.execPath(),
    "run",
    "-A",
    rootFile("tests/bench/tcp_copy.ts"),
    "send",
    port.trim(),
    src,
  ]);
  const got = await recv.done;
  const secs = (performance.now() - t0) / 1000;
  if (send.code !== 0 || got.code !== 0 || (await Deno.stat(dst)).size !== bytes) {
    throw new Error(`tcp copy failed: ${send.err} ${got.err}`);
  }
  await Deno.remove(`${dst}.port`);
  const gib = bytes / GIB;
  return [
    { name: "raw TCP copy (Deno, loopback)", value: bytes / MB / secs, unit: "MB/s" },
    { name: "raw TCP: sender CPU per GiB", value: send.cpu / gib, unit: "s" },
    { name: "raw TCP: receiver CPU per GiB", value: got.cpu / gib, unit: "s" },
  ];
}

export function haveSshd(): boolean {
  try {
    Deno.statSync("/usr/sbin/sshd");
    return true;
  } catch {
    return false;
  }
}

export const SCP_SKIPPED: Row = {
  name: "scp: skipped (no /usr/sbin/sshd; apt-get install openssh-server)",
  value: NaN,
  unit: "",
};

/** One scp of `src` to `dst` through a private sshd started (and stopped by PID) for it. */
export async function scpCopy(dir: string, src: string, dst: string, bytes: number): Promise<Row[]> {
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  const k = await Deno.makeTempDir({ dir, prefix: "ssh-" });
  for (const f of ["host", "user"]) {
    await timed(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", `${k}/${f}`]);
  }
  await Deno.copyFile(`${k}/user.pub`, `${k}/authorized_keys`);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${k}/host`,
    `AuthorizedKeysFile ${k}/authorized_keys`,
    `PidFile ${k}/sshd.pid`,
    "UsePAM no",
    "StrictModes no",
    "PasswordAuthentication no",
    "Subsystem sftp internal-sftp",
  ];
  await Deno.writeTextFile(`${k}/sshd_config`, config.join("\n") + "\n");
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
    const before = await cpuMicros(sshd.pid, true);
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
    const server = ((await cpuMicros(sshd.pid, true)) - before) / 1e6;
    if (r.code !== 0 || (await Deno.stat(dst)).size !== bytes) throw new Error(`scp failed: ${r.err}`);
    const gib = bytes / GIB;
    return [
      { name: "scp (OpenSSH, loopback)", value: bytes / MB / secs, unit: "MB/s" },
      { name: "scp: client CPU per GiB", value: r.cpu / gib, unit: "s" },
      { name: "scp: sshd CPU per GiB (session processes)", value: server / gib, unit: "s" },
    ];
  } finally {
    sshd.kill("SIGTERM");
    await sshd.status;
  }
}
