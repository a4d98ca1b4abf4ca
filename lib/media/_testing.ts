/** Test helpers for lib/media (folder-internal): the ffmpeg to use and the sample video path. */

import { findFfmpeg } from "./ffmpeg.ts";
import { MjpegSplitter } from "./mjpeg_splitter.ts";
export { processAlive } from "../common/process_testing.ts";

/** Splits a complete buffer in one call. */
export function splitMjpeg(bytes: Uint8Array): Uint8Array[] {
  return new MjpegSplitter().push(bytes);
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: ffmpeg tests are skipped
  }
}

export const TEST_FFMPEG: string | null = env("PATH") === undefined ? null : findFfmpeg({ get: env });

// On CI (CI=true) the ffmpeg tests may not be skipped: a missing ffmpeg is a failing test.
if (TEST_FFMPEG === null && env("CI") === "true") {
  Deno.test("ffmpeg is installed (CI=true: the tests that need it may not be skipped)", () => {
    throw new Error("ffmpeg was not found; the CI workflow must install it");
  });
}

export const SAMPLE_VIDEO: string = decodeURIComponent(
  new URL("../../videos/sample.mp4", import.meta.url).pathname,
);

export const TESTDATA: string = decodeURIComponent(
  new URL("./testdata/", import.meta.url).pathname,
);

/** The fixed 48×32 test image of the golden files: smooth gradients and a white square. */
export function goldenImage(): { width: number; height: number; data: Uint8Array } {
  const width = 48, height = 32;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const square = x >= 20 && x < 28 && y >= 12 && y < 20;
      data[i] = square ? 255 : x * 5;
      data[i + 1] = square ? 255 : y * 8;
      data[i + 2] = square ? 255 : ((x + y) * 3) & 255;
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

/** Compares `actual` with a golden file; PARLEY_UPDATE_GOLDEN=1 rewrites the file instead. */
export function matchesGolden(name: string, actual: Uint8Array): boolean {
  const path = TESTDATA + name;
  if (env("PARLEY_UPDATE_GOLDEN") === "1") {
    Deno.mkdirSync(TESTDATA, { recursive: true });
    Deno.writeFileSync(path, actual);
    return true;
  }
  const want = Deno.readFileSync(path);
  return want.length === actual.length && want.every((b, i) => b === actual[i]);
}

/** A PNG's signature and IHDR chunk of `width`×`height` (CRC not checked by the header reader). */
export function pngHead(width: number, height: number): Uint8Array {
  const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return new Uint8Array([
    ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...be32(13), 0x49, 0x48, 0x44, 0x52],
    ...be32(width),
    ...be32(height),
    ...[8, 2, 0, 0, 0, 0, 0, 0, 0],
  ]);
}
