/**
 * KittyFileSender — kitty frames whose pixels go through a temporary file (`t=t`): each frame's RGB
 * is put in a new file through a `TempFilePort` (the real one: lib/client/term/terminal.ts, the only
 * client file that writes files for the terminal), and the command naming it (render_kitty.ts
 * `kittyFileCommand`) is what the caller writes. The terminal deletes a file once it read it; one
 * it never read is deleted here when `FILE_KEEP` newer ones were put (a terminal that far behind
 * misses that frame), and every one still there at `close`, so none is left behind. Pure apart from
 * the port.
 */
import type { RgbaImage } from "./jpeg.ts";
import { kittyFileCommand, type KittyOptions, kittyPixels } from "./render_kitty.ts";

/** Temporary files for the terminal to read. */
export interface TempFilePort {
  /** A new file holding `bytes`: its path, or null when it could not be made. */
  put(bytes: Uint8Array): string | null;
  /** Deletes the file at `path` if it is still there (the terminal deletes those it read). */
  drop(path: string): void;
}

/** Files put and perhaps not read yet, at most: older ones are deleted. */
export const FILE_KEEP = 8;

/** Kitty frames through temporary files, the ones perhaps unread kept for deletion (see the module comment). */
export class KittyFileSender {
  readonly #port: TempFilePort;
  readonly #keep: number;
  /** Paths put, oldest first, perhaps still unread. */
  #names: string[] = [];

  /** Files through `port`; an unread one deleted once `keep` newer ones were put. */
  constructor(port: TempFilePort, keep = FILE_KEEP) {
    this.#port = port;
    this.#keep = keep;
  }

  /** The command drawing `img` through a new file; null when none could be made (send it directly). */
  render(img: RgbaImage, opts: KittyOptions): Uint8Array | null {
    const px = kittyPixels(img);
    const name = this.#port.put(px);
    if (name === null) return null;
    this.#names.push(name);
    if (this.#names.length > this.#keep) this.#port.drop(this.#names.shift()!);
    return kittyFileCommand(img, opts, name, px.length);
  }

  /** Deletes every file the terminal may not have read (the player stopped). */
  close(): void {
    for (const n of this.#names) this.#port.drop(n);
    this.#names = [];
  }
}
