/**
 * Video server benchmark for `deno task bench` (group "video"): a `server.ts` process with real TLS
 * and ffmpeg plays videos/sample.mp4 (24 fps) to clients over loopback. Rows: first-frame latency
 * over the network (play request → first `video.frame`, median of 5), and delivered fps against
 * the source fps for 1 and for 10 simultaneous viewers at 720p (1280×720 JPEGs). Prints nothing.
 */
import { VideoClient } from "../../lib/client/video/video_client.ts";
import { Connection } from "../../lib/client/connection.ts";
import { testFfmpeg, videoDataDir, VIDEOS_DIR } from "../helpers.ts";
import { seed, type Srv, startServer, stopServer, tokenOf } from "./chat_load.ts";

export interface VideoBenchRow {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Delivered fps of one viewer: frames over the time between the first and the last frame. */
function fpsOf(times: number[]): number {
  return times.length < 2 ? 0 : ((times.length - 1) * 1000) / (times.at(-1)! - times[0]!);
}

/** A logged-in connection to the bench server (token login: no password hashing). */
async function viewer(srv: Srv, user: string): Promise<Connection> {
  const conn = await Connection.open({ host: "127.0.0.1", port: srv.port, caPem: srv.cert });
  await conn.request("hello", { v: 1, client: "bench" });
  await conn.request("login", { user, token: tokenOf(user) });
  return conn;
}

export async function benchVideoServer(o: { ffmpeg?: string } = {}): Promise<VideoBenchRow[]> {
  const ffmpeg = o.ffmpeg ?? testFfmpeg();
  if (!ffmpeg) return [{ name: "video: skipped (no ffmpeg)", value: NaN, unit: "" }];
  // The server runs in its own process (as in production); renditions are made beforehand.
  const dir = await videoDataDir(ffmpeg);
  const users = ["v0", ...Array.from({ length: 11 }, (_, i) => `v${i + 1}`)];
  await seed(dir, users);
  const srv = await startServer(dir, ["--videos", VIDEOS_DIR]);
  const rows: VideoBenchRow[] = [];
  const conns: Connection[] = [];
  try {
    const first = await viewer(srv, "v0");
    conns.push(first);
    const vc = new VideoClient(first);
    for (let i = 0; i < 100 && !(await vc.list()).videos.some((v) => v.name === "sample"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // First frame over the network.
    const lat: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const pb = await vc.play("sample", { mode: "720p" });
      const f = await pb.next();
      if (f) lat.push(performance.now() - t0);
      await pb.stop();
      await pb.ended;
    }
    rows.push({ name: "video first frame over TLS (720p)", value: median(lat), unit: "ms", target: "≤ 250" });

    for (const n of [1, 10]) {
      const clients = await Promise.all(Array.from({ length: n }, (_, i) => viewer(srv, `v${i + 1}`)));
      conns.push(...clients);
      const times = clients.map(() => [] as number[]);
      const pbs = await Promise.all(
        clients.map((cl) => new VideoClient(cl).play("sample", { mode: "720p" })),
      );
      pbs.forEach((pb, i) => pb.onFrame(() => times[i]!.push(performance.now())));
      await Promise.all(pbs.map((pb) => pb.ended));
      const fps = times.map(fpsOf);
      const frames = times.map((x) => x.length);
      rows.push({
        name: `video delivered fps, ${n} viewer${n > 1 ? "s" : ""} at 720p (mean)`,
        value: fps.reduce((a, b) => a + b, 0) / n,
        unit: "fps",
        target: "24 (source)",
      });
      if (n > 1) {
        rows.push({
          name: `video delivered fps, ${n} viewers at 720p (worst)`,
          value: Math.min(...fps),
          unit: "fps",
        });
      }
      rows.push({
        name: `video frames per viewer, ${n} at 720p (of 96)`,
        value: Math.min(...frames),
        unit: "frames",
      });
    }
    rows.push({ name: "video source fps (sample)", value: 24, unit: "fps" });
  } finally {
    for (const c of conns) await c.close();
    await stopServer(srv);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await benchVideoServer()) console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
}
