/** Test helpers for lib/media (folder-internal): the ffmpeg to use and the sample video path. */

import { locateFfmpeg } from "./ffmpeg.ts";

export const TEST_FFMPEG: string | null = locateFfmpeg({
  envPath: Deno.env.get("PARLEY_FFMPEG"),
  pathDirs: (Deno.env.get("PATH") ?? "").split(Deno.build.os === "windows" ? ";" : ":"),
});

export const SAMPLE_VIDEO: string = decodeURIComponent(new URL("../../videos/sample.mp4", import.meta.url).pathname);

export const TESTDATA: string = decodeURIComponent(
  new URL("../../tests/testdata/media/", import.meta.url).pathname,
);

/**
 * True when a process with this id still exists (reaped processes throw ESRCH). SIGCONT is harmless
 * to a running ffmpeg; needs only --allow-run (reading /proc would need --allow-all).
 */
export function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
