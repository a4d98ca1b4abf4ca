/**
 * Video server benchmark for `deno task bench` (group "video"): a `server.ts` process with real TLS
 * and ffmpeg plays videos/sample.mp4 to clients over loopback. Rows: first-frame latency over the
 * network (play request → first `video.frame`, median of 5; a play that ends without a frame is
 * counted as a failure), and delivered fps and frames against the source's fps (as the server
 * probed it) and frame count (counted by ffmpeg) for 1 and for 10 simultaneous viewers at 720p
 * (1280×720 JPEGs). Prints nothing.
 */
import { VideoClient } from "../../lib/client/video/video_client.ts";
import { Connection } from "../../lib/client/session/connection.ts";
import { testFfmpeg, videoDataDir, VIDEOS_DIR } from "../helpers.ts";
import { seed, type Srv, startServer, stopServer, tokenOf } from "./bench_server.ts";

export interface VideoBenchRow {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/**
 * Delivered fps of one viewer: frames over the time between the first and the last frame that
 * ffmpeg made. Frame 0 of a play from the start is the rendition's stored first frame, sent before
 * ffmpeg has started: counted as a frame, but the wait for ffmpeg after it is start-up, not delivery.
 */
function fpsOf(frames: { index: number; at: number }[]): number {
  const made = frames.filter((f) => f.index > 0);
  return made.length < 2 ? 0 : ((made.length - 1) * 1000) / (made.at(-1)!.at - made[0]!.at);
}

/** Frames in the first video stream of `file`, counted by ffmpeg (stream copy, nothing decoded). */
async function frameCount(ffmpeg: string, file: string): Promise<number> {
  const r = await new Deno.Command(ffmpeg, {
    args: ["-hide_banner", "-nostdin", "-i", file, "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const all = [...new TextDecoder().decode(r.stderr).matchAll(/frame=\s*(\d+)/g)];
  if (!r.success || all.length === 0) throw new Error(`ffmpeg could not count the frames of ${file}`);
  return Number(all.at(-1)![1]);
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
    const listed = async () => (await vc.list()).videos.find((v) => v.name === "sample");
    for (let i = 0; i < 100 && !(await listed()); i++) await new Promise((r) => setTimeout(r, 100));
    const sample = await listed();
    if (!sample) throw new Error("the server never listed the sample video");
    const sourceFps = sample.fps;
    const sourceFrames = await frameCount(ffmpeg, `${VIDEOS_DIR}/sample.mp4`);
    // First frame over the network; a play that ends without one is a failure, not left out.
    const lat: number[] = [];
    const tries = 5;
    for (let i = 0; i < tries; i++) {
      const t0 = performance.now();
      const pb = await vc.play("sample", { mode: "720p" });
      const f = await pb.next();
      if (f) lat.push(performance.now() - t0);
      await pb.stop();
      await pb.ended;
    }
    rows.push({
      name: `video first frame over TLS (720p, median of ${lat.length})`,
      value: median(lat),
      unit: "ms",
      target: "≤ 250",
    });
    rows.push({
      name: `video plays with no first frame (of ${tries})`,
      value: tries - lat.length,
      unit: "",
      target: "0",
    });

    for (const n of [1, 10]) {
      const clients = await Promise.all(Array.from({ length: n }, (_, i) => viewer(srv, `v${i + 1}`)));
      conns.push(...clients);
      const times = clients.map(() => [] as { index: number; at: number }[]);
      const pbs = await Promise.all(
        clients.map((cl) => new VideoClient(cl).play("sample", { mode: "720p" })),
      );
      pbs.forEach((pb, i) => pb.onFrame((f) => times[i]!.push({ index: f.index, at: performance.now() })));
      await Promise.all(pbs.map((pb) => pb.ended));
      const fps = times.map(fpsOf);
      const frames = pbs.map((pb) => pb.order.length); // frames that came before onFrame too
      rows.push({
        name: `video delivered fps, ${n} viewer${n > 1 ? "s" : ""} at 720p (mean)`,
        value: fps.reduce((a, b) => a + b, 0) / n,
        unit: "fps",
        target: `${sourceFps} (source)`,
      });
      if (n > 1) {
        rows.push({
          name: `video delivered fps, ${n} viewers at 720p (worst)`,
          value: Math.min(...fps),
          unit: "fps",
        });
      }
      rows.push({
        name: `video frames per viewer, ${n} at 720p (fewest; the source has ${sourceFrames})`,
        value: Math.min(...frames),
        unit: "frames",
        target: String(sourceFrames),
      });
    }
    rows.push({ name: "video source fps (sample, as probed by the server)", value: sourceFps, unit: "fps" });
    rows.push({
      name: "video source frames (sample, counted by ffmpeg)",
      value: sourceFrames,
      unit: "frames",
    });
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
