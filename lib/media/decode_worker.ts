/**
 * The JPEG decoding worker behind `JpegDecoder` (decoder.ts): receives `{ id, jpeg }`, answers
 * `{ id, ok: true, width, height, data }` (the pixel buffer transferred, not copied) or
 * `{ id, ok: false, message }` for undecodable input. An empty `jpeg` only initialises the
 * decoder (the WASM module), so the first real frame does not pay for it.
 */
/// <reference lib="deno.worker" />
import { decodeJpeg } from "./jpeg.ts";

self.onmessage = async (e: MessageEvent<{ id: number; jpeg: Uint8Array }>) => {
  const { id, jpeg } = e.data;
  try {
    if (!jpeg.length) {
      await decodeJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])).catch(() => {});
      self.postMessage({ id, ok: true, width: 0, height: 0, data: new Uint8Array(0) });
      return;
    }
    const img = await decodeJpeg(jpeg);
    // A view of a larger buffer (e.g. WASM memory) is copied: only a whole buffer can be transferred.
    const whole = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength;
    const data = whole ? new Uint8Array(img.data.buffer, 0, img.data.byteLength) : new Uint8Array(img.data);
    self.postMessage({ id, ok: true, width: img.width, height: img.height, data }, [data.buffer]);
  } catch (err) {
    self.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
};
