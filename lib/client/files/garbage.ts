/**
 * Bounds the garbage a long receive leaves (issue 36: a 1 GiB receive within 128 MiB of RSS). The
 * receive frees its own buffers as it goes (frame.ts owning decoder, part_writer.ts: the socket's
 * pieces, each frame and each chunk's plaintext), but the TLS socket below still leaves about one
 * byte of short-lived buffers outside V8's heap per byte received, which V8 collects only once
 * ~64 MiB of them piled up — and the allocator keeps the pages it once held. `Garbage.made(n)`
 * counts bytes received; every LOOK_EVERY of them it reads V8's external memory and, over `limit`,
 * collects through V8's `gc` function (common/gc.ts `collector`): two full collections (≈ 30–60 ms in
 * a client) whatever options it is given; filling the young generation to get a cheap one instead was tried
 * and freed too little (the socket's buffers live through one). `deno task bench files`, relayed
 * 128 MiB, same machine and load, interleaved: receiver CPU 31–41 s per GiB before the frees, 17–20
 * after; RSS 118 → 122 MiB. A larger `limit` trades RSS for CPU: at 10 MiB tests/files_rss_test.ts
 * saw 125–129 MiB for its 128 MiB file (too close to its bound), at 8 MiB 116–117, for receiver CPU
 * 15.8 → 18.4 s per GiB (relayed 256 MiB, medians of 3). Where `gc` is not available, it does nothing.
 * Since the client's connection reads on Deno's own TLS into each frame's buffer (net/tls.ts DenoConn,
 * issue 36), a relayed receive leaves little such garbage and this seldom collects (receiver GC 9.2 s →
 * 0.1 s per GiB in a profile).
 */
import { collector } from "../../common/gc.ts";

/** External memory (bytes) above which a receive collects its garbage. */
export const GARBAGE_LIMIT = 8 * 1024 * 1024;
/** Bytes made between two looks at the external memory. */
const LOOK_EVERY = 1024 * 1024;

export class Garbage {
  #since = 0;
  constructor(readonly limit = GARBAGE_LIMIT) {}

  /** `n` more bytes were received; collects their garbage when too much of it is held. */
  made(n: number): void {
    this.#since += n;
    if (this.#since < LOOK_EVERY) return;
    this.#since = 0;
    if (Deno.memoryUsage().external > this.limit) collector()?.();
  }
}
