import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { JpegDecoder } from "./decoder.ts";
import { decodeJpeg } from "./jpeg.ts";
import { goldenImage } from "./_testing.ts";
import { brokenWorkerUrl } from "../common/worker_testing.ts";

const jpeg = () => {
  const src = goldenImage();
  return new Uint8Array(jpegJs.encode({ ...src, data: src.data }, 90).data);
};

Deno.test("JpegDecoder decodes on its worker, in order, the same pixels as decodeJpeg", async () => {
  const d = new JpegDecoder();
  try {
    await d.warm();
    const j = jpeg();
    const want = await decodeJpeg(j);
    const got = await Promise.all([d.decode(j), d.decode(j.slice()), d.decode(j.slice())]);
    for (const img of got) {
      assert.deepEqual([img.width, img.height], [48, 32]);
      assert.deepEqual(new Uint8Array(img.data), new Uint8Array(want.data));
    }
    assert.equal(d.onWorker, 4, "warm-up and three frames answered by the worker");
    await assert.rejects(d.decode(new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])), SyntaxError);
  } finally {
    d.close();
  }
});

Deno.test("JpegDecoder decodes in-thread when its worker cannot start", async () => {
  const d = new JpegDecoder({ workerUrl: brokenWorkerUrl("JpegDecoder decodes in-thread") });
  try {
    const img = await d.decode(jpeg());
    assert.deepEqual([img.width, img.height], [48, 32]);
    assert.equal(d.onWorker, 0);
  } finally {
    d.close();
  }
});

Deno.test("JpegDecoder decodes in-thread while its worker is still starting", async () => {
  // A worker that never answers: its warm-up never ends, yet frames are decoded.
  const d = new JpegDecoder({ workerUrl: new URL("./testdata/silent_worker.js", import.meta.url).href });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    void d.warm();
    const img = await Promise.race([
      d.decode(jpeg()),
      new Promise<never>((
        _,
        rej,
      ) => (timer = setTimeout(() => rej(new Error("waited for the worker")), 10_000))),
    ]);
    assert.deepEqual([img.width, img.height], [48, 32]);
    assert.equal(d.onWorker, 0);
  } finally {
    clearTimeout(timer);
    d.close();
  }
});
