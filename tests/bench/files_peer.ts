/**
 * Peer mode in the files bench: two `parley peer --script -` nodes (tests/peer_harness.ts) on
 * loopback, connected once; bob takes files unattended (--accept-files, alice verified: as `receive`
 * takes them in the direct row); each copy is `send bob FILE` on alice, timed until bob's `saved`
 * line. The sender hashes on the way (as send-file does); an offer answered by a person waits for
 * the sum instead (files_peer_ab.ts `manual` measures that). CPU seconds of each node from /proc;
 * bob's resident memory sampled from outside during the copy.
 */
import { ScriptPeer } from "../peer_harness.ts";
import { GIB, MB, rssPeak } from "./files_proc.ts";
import { cpuMicros, mergeRuns, type Row } from "./proc.ts";

export async function peerCopies(root: string, src: string, sum: string, bytes: number, times: number) {
  const dir = `${root}/peer`;
  await Deno.mkdir(dir);
  const alice = await ScriptPeer.start("alice", `${dir}/a`);
  const bob = await ScriptPeer.start("bob", `${dir}/b`, { args: ["--out", `${dir}/down`, "--accept-files"] });
  const limit = 30 * 60_000;
  try {
    await alice.send(`connect ${bob.addr}`);
    await bob.waitLine(/^connected alice$/);
    await bob.verify("alice");
    const runs: Row[][] = [];
    for (let i = 0; i < times; i++) {
      const [a0, b0] = [await cpuMicros(alice.proc.pid), await cpuMicros(bob.proc.pid)];
      const rss = rssPeak(() => Promise.resolve(bob.proc.pid));
      const t0 = performance.now();
      const from = bob.lines.length;
      await alice.send(`send bob ${src}`);
      const saved = await bob.waitLine(/^saved /, limit, from);
      const secs = (performance.now() - t0) / 1000;
      const peak = await rss.stop();
      const [a1, b1] = [await cpuMicros(alice.proc.pid), await cpuMicros(bob.proc.pid)];
      if (!saved.endsWith(` ${bytes} ${sum}`)) throw new Error(`peer copy: ${saved}`);
      await Deno.remove(saved.split(" ").slice(1, -2).join(" "));
      const gib = bytes / GIB;
      runs.push([
        { name: "Parley peer mode (send, --accept-files)", value: bytes / MB / secs, unit: "MB/s" },
        { name: "peer: sender CPU per GiB", value: (a1 - a0) / 1e6 / gib, unit: "s" },
        { name: "peer: receiver CPU per GiB", value: (b1 - b0) / 1e6 / gib, unit: "s" },
        { name: "peer: receiver RSS peak", value: peak / 1024, unit: "MiB", target: "≤ 128" },
      ]);
    }
    return mergeRuns(runs);
  } finally {
    await Promise.all([alice.quit(), bob.quit()]);
  }
}
