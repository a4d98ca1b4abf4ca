/**
 * KittyShmSender — kitty frames whose pixels go through POSIX shared memory (`t=s`): each frame's RGB
 * is put in a new object through a `ShmPort` (the real one: lib/client/term/terminal.ts, the only
 * client file that writes files for the terminal), and the command naming it (render_kitty.ts
 * `kittyShmCommand`) is what the caller writes. The terminal unlinks an object once it read it; one
 * it never read is unlinked here when `SHM_KEEP` newer ones were put (a terminal that far behind
 * misses that frame), and every one still there at `close`, so none is left behind. Pure apart from
 * the port.
 */
import type { RgbaImage } from "./jpeg.ts";
import { type KittyOptions, kittyPixels, kittyShmCommand } from "./render_kitty.ts";

/** Shared memory objects for the terminal to read (Linux: files under /dev/shm). */
export interface ShmPort {
  /** A new object holding `bytes`: its name, or null when it could not be made. */
  put(bytes: Uint8Array): string | null;
  /** Unlinks the object `name` if it is still there (the terminal unlinks those it read). */
  drop(name: string): void;
}

/** Objects put and perhaps not read yet, at most: older ones are unlinked. */
export const SHM_KEEP = 8;

export class KittyShmSender {
  readonly #port: ShmPort;
  readonly #keep: number;
  /** Names put, oldest first, perhaps still unread. */
  #names: string[] = [];

  constructor(port: ShmPort, keep = SHM_KEEP) {
    this.#port = port;
    this.#keep = keep;
  }

  /** The command drawing `img` through a new object; null when none could be made (send it directly). */
  render(img: RgbaImage, opts: KittyOptions): Uint8Array | null {
    const px = kittyPixels(img);
    const name = this.#port.put(px);
    if (name === null) return null;
    this.#names.push(name);
    if (this.#names.length > this.#keep) this.#port.drop(this.#names.shift()!);
    return kittyShmCommand(img, opts, name, px.length);
  }

  /** Unlinks every object the terminal may not have read (the player stopped). */
  close(): void {
    for (const n of this.#names) this.#port.drop(n);
    this.#names = [];
  }
}
