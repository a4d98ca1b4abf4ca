/**
 * FramePainter — the client player's drawing step, pure apart from the async JPEG decode. Fits a
 * frame inside the pane (aspect kept, centred) and encodes it for the detected terminal: kitty,
 * sixel (one encoder, its palette reused from frame to frame) or truecolor half-blocks; kitty frames
 * go deflated (`o=z`), or through temporary files when given a `TempFilePort` (kitty_file.ts). Half-blocks are diffed against the previous frame (only changed cells
 * are written; `reset()` after anything else painted the pane). `panePixels` tells the server which frame size to stream so the
 * client never has to shrink big frames.
 */

import { decodeJpeg, fitInto, type RgbaImage, scaleNearest, toRgba } from "./jpeg.ts";
import { HalfblockCanvas, PLAYER_TOLERANCE } from "./render_halfblock_diff.ts";
import { KittyFileSender, type TempFilePort } from "./kitty_file.ts";
import { renderKitty } from "./render_kitty.ts";
import { SixelEncoder } from "./render_sixel.ts";
import type { GraphicsKind } from "./term_detect.ts";

/** Where a video is drawn: a rectangle of cells on the screen and the cell size in pixels. */
export interface PaneGeometry {
  /** 1-based top-left cell on the screen. */
  row: number;
  /** 1-based left column of the pane. */
  col: number;
  /** Width of the pane in cells. */
  cols: number;
  /** Height of the pane in cells. */
  rows: number;
  /** Cell size in pixels (from CSI 16 t; default 10×20). */
  cellWidth?: number;
  /** Cell height in pixels (default 20). */
  cellHeight?: number;
}

/** The pixel size worth streaming to this pane for this renderer. */
export function panePixels(kind: GraphicsKind, pane: PaneGeometry): { width: number; height: number } {
  if (kind === "halfblock") return { width: pane.cols, height: pane.rows * 2 };
  return { width: pane.cols * (pane.cellWidth ?? 10), height: pane.rows * (pane.cellHeight ?? 20) };
}

/** Draws frames into a pane for one graphics kind (see the module comment). */
export class FramePainter {
  /** The terminal graphics this painter writes. */
  readonly kind: GraphicsKind;
  readonly #id: number;
  readonly #sixel: SixelEncoder | null;
  readonly #compress: boolean;
  readonly #files: KittyFileSender | null;
  readonly #canvas = new HalfblockCanvas(PLAYER_TOLERANCE);

  /**
   * `kittyCompress` (default true): kitty frames are deflated RGB (`o=z`), a fraction of the bytes;
   * `kittyFile`: their pixels go through temporary files instead (a frame whose file could not be made
   * goes directly); `sixelWarm`: a painter made ahead of its first frame warms its sixel encoder up
   * (see `SixelOptions.warm`).
   */
  constructor(
    kind: GraphicsKind,
    opts: {
      imageId?: number;
      sixelLevels?: number;
      sixelWarm?: boolean;
      kittyCompress?: boolean;
      kittyFile?: TempFilePort;
    } = {},
  ) {
    this.kind = kind;
    this.#id = opts.imageId ?? 4242;
    this.#sixel = kind === "sixel"
      ? new SixelEncoder({ levels: opts.sixelLevels ?? 4, warm: opts.sixelWarm ?? false })
      : null;
    this.#compress = opts.kittyCompress ?? true;
    this.#files = kind === "kitty" && opts.kittyFile ? new KittyFileSender(opts.kittyFile) : null;
  }

  /** Deletes the temporary files the terminal may not have read (drawing ended). */
  close(): void {
    this.#files?.close();
  }

  /**
   * Something else painted over the picture (a full screen repaint): the next half-block frame is
   * drawn whole instead of only its changed cells.
   */
  reset(): void {
    this.#canvas.reset();
  }

  /** Decodes `jpeg` and returns what to write to draw it in `pane`. */
  async paint(jpeg: Uint8Array, pane: PaneGeometry): Promise<string | Uint8Array> {
    return this.paintImage(await decodeJpeg(jpeg), pane);
  }

  /** Same as `paint` for an already decoded image. */
  paintImage(img: RgbaImage, pane: PaneGeometry): string | Uint8Array {
    const cw = pane.cellWidth ?? 10, ch = pane.cellHeight ?? 20;
    if (this.kind === "halfblock") {
      // A half-block pixel is cw × ch/2: fit in those units so the picture keeps its shape.
      const k = (ch / 2) / cw;
      const fit = fitInto(img.width, img.height * k, pane.cols, pane.rows * 2);
      const cols = Math.min(pane.cols, fit.width),
        rows = Math.min(pane.rows, Math.max(1, Math.round(fit.height / 2)));
      const at = { row: pane.row + ((pane.rows - rows) >> 1), col: pane.col + ((pane.cols - cols) >> 1) };
      return this.#canvas.renderBytes(img, cols, rows, at);
    }
    const px = fitInto(img.width, img.height, pane.cols * cw, pane.rows * ch);
    const cols = Math.min(pane.cols, Math.max(1, Math.round(px.width / cw)));
    const rows = Math.min(pane.rows, Math.max(1, Math.round(px.height / ch)));
    const at = { row: pane.row + ((pane.rows - rows) >> 1), col: pane.col + ((pane.cols - cols) >> 1) };
    if (this.kind === "kitty") {
      const o = { id: this.#id, cols, rows, at };
      return this.#files?.render(img, o) ?? renderKitty(img, { ...o, compress: this.#compress });
    }
    // Sixel work is sized to the pane: a larger frame is scaled down before it is quantized (RGB
    // frames are quantized as they are).
    const scaled = img.width > px.width ? scaleNearest(toRgba(img), px.width, px.height) : img;
    return this.#sixel!.encode(scaled, at);
  }
}
