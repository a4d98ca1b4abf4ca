/**
 * The JPEG decoding worker behind `JpegDecoder` (decoder.ts): receives `{ id, jpeg }`, answers
 * `{ id, ok: true, width, height, data }` (the pixel buffer transferred, not copied) or
 * `{ id, ok: false, message }` for undecodable input. An empty `jpeg` only initialises the
 * decoder (the WASM module, on a 1×1 picture), so the first real frame does not pay for it.
 */
import jpegJs from "jpeg-js";
import { decodeJpeg } from "./jpeg.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (e: MessageEvent<{ id: number; jpeg: Uint8Array }>) => {
  const { id, jpeg } = e.data;
  try {
    if (!jpeg.length) {
      const tiny = jpegJs.encode({ width: 1, height: 1, data: new Uint8Array(4) }, 50).data;
      await decodeJpeg(new Uint8Array(tiny));
      scope.postMessage({ id, ok: true, width: 0, height: 0, data: new Uint8Array(0) });
      return;
    }
    const img = await decodeJpeg(jpeg);
    // A view of a larger buffer (e.g. WASM memory) is copied: only a whole buffer can be transferred.
    const whole = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength;
    const data = whole ? new Uint8Array(img.data.buffer, 0, img.data.byteLength) : new Uint8Array(img.data);
    scope.postMessage({ id, ok: true, width: img.width, height: img.height, data }, [data.buffer]);
  } catch (err) {
    scope.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
};
