/**
 * Pictures inline (issue 39.6): a received file that is a JPEG, PNG, WebP or GIF is shown as a
 * thumbnail under a line in its conversation, drawn with the terminal's renderer (kitty, sixel or
 * half-blocks: lib/media's `FramePainter`); Alt+V shows the newest picture of the buffer over the
 * whole message pane, Esc (or q, or Alt+V again) goes back.
 *
 * Contract: nothing is read or decoded before the user accepted the file: `saved` is called once
 * the download was saved, and the injected `TuiOptions.loadPicture` (client.ts: media/ffmpeg.ts's
 * `imageThumbnail`) checks the header against the caps before any decode; a picture over a cap (or
 * damaged) gets a line saying why, the file stays saved; other files get nothing. The thumbnail's
 * rows are blank rows of its line (`Line.picture`), so scrolling and wrapping count them; the
 * message pane reports where a picture's rows are fully visible (`place`) and the app writes the
 * pictures after the screen diff (`paint`); when a placement moves or goes, the screen is repainted
 * in full first so no old picture stays behind. The full view uses the video's blank pane.
 */
import { FramePainter, type GraphicsKind, kittyDelete, panePixels, type RgbaImage } from "../../media/mod.ts";
import { sanitize } from "../../common/sanitize.ts";
import type { ChatBuffer, Line } from "./buffers.ts";
import type { KeyEvent } from "../term/keys.ts";
import type { AppHost } from "./app_host.ts";

/** A thumbnail's largest size in cells. */
export const THUMB_COLS = 32;
export const THUMB_ROWS = 8;

interface Picture {
  path: string;
  name: string;
  width: number;
  height: number;
  image: RgbaImage;
  cols: number;
  rows: number;
  painter: FramePainter;
  id: number;
}

interface Placement {
  pic: Picture;
  row: number;
  col: number;
}

const utf8d = new TextDecoder();

function samePlaces(a: Placement[], b: Placement[]): boolean {
  return a.length === b.length &&
    a.every((p, i) => p.pic === b[i]!.pic && p.row === b[i]!.row && p.col === b[i]!.col);
}
let nextId = 5000;

export class TuiPictures {
  readonly #pics = new Map<Line, Picture>();
  #placing: Placement[] = [];
  #placed: Placement[] = [];
  #full: { pic: Picture; image: RgbaImage | null; painter: FramePainter; drawn: boolean } | null = null;

  constructor(readonly app: AppHost) {}

  #cell(): { kind: GraphicsKind; cw: number; ch: number } {
    const g = this.app.video.graphics;
    return { kind: g.kind, cw: g.cellWidth ?? 10, ch: g.cellHeight ?? 20 };
  }

  /** A downloaded file was saved at `path`: if it is a picture, show it under a line in `buf`. */
  saved(path: string, name: string, buf: ChatBuffer): void {
    const load = this.app.opts.loadPicture;
    if (!load) return;
    const { kind, cw, ch } = this.#cell();
    const box = panePixels(kind, {
      row: 1,
      col: 1,
      cols: THUMB_COLS,
      rows: THUMB_ROWS,
      cellWidth: cw,
      cellHeight: ch,
    });
    const shown = sanitize(name);
    this.app.track(load(path, box), (t) => {
      if (!t.ok) {
        if (t.picture) {
          this.app.state.info(buf, `Picture ${shown} not shown: ${t.reason} (saved at ${sanitize(path)})`);
        }
        return;
      }
      const img = t.image;
      const cols = kind === "halfblock" ? img.width : Math.max(1, Math.ceil(img.width / cw));
      const rows = kind === "halfblock" ? Math.ceil(img.height / 2) : Math.max(1, Math.ceil(img.height / ch));
      const id = nextId++;
      const pic: Picture = {
        path,
        name: shown,
        width: t.header.width,
        height: t.header.height,
        image: img,
        cols,
        rows,
        id,
        painter: new FramePainter(kind, { imageId: id }),
      };
      this.app.state.info(buf, `🖼 ${shown} ${pic.width}×${pic.height} (Alt+V: full size)`);
      const line = buf.lines[buf.lines.length - 1];
      if (!line) return;
      line.picture = { rows };
      line.cacheWidth = undefined;
      this.#pics.set(line, pic);
    }, buf);
  }

  /** The message pane drew `line`'s picture rows, all visible, from 0-based (row, col). */
  place(line: Line, row: number, col: number): void {
    const pic = this.#pics.get(line);
    if (pic) this.#placing.push({ pic, row, col });
  }

  /** Called before each render. */
  begin(): void {
    this.#placing = [];
  }

  /** After a render: true when a shown picture moved or went (the screen must be repainted in full). */
  moved(): boolean {
    return this.#placed.length > 0 && !samePlaces(this.#placed, this.#placing);
  }

  /** What to write after the screen diff; `repainted`: the screen was cleared and redrawn. */
  paint(repainted: boolean): string {
    const prev = this.#placed;
    this.#placed = this.#placing;
    if (this.#full) return this.#paintFull(repainted);
    const { cw, ch, kind } = this.#cell();
    let out = "";
    if (kind === "kitty") {
      for (const p of prev) {
        if (!this.#placed.some((q) => q.pic === p.pic)) out += utf8d.decode(kittyDelete(p.pic.id));
      }
    }
    if (repainted || !samePlaces(prev, this.#placed)) {
      for (const p of this.#placed) {
        p.pic.painter.reset();
        const s = p.pic.painter.paintImage(p.pic.image, {
          row: p.row + 1,
          col: p.col + 1,
          cols: p.pic.cols,
          rows: p.pic.rows,
          cellWidth: cw,
          cellHeight: ch,
        });
        out += typeof s === "string" ? s : utf8d.decode(s);
      }
    }
    return out ? `\x1b[?2026h\x1b7${out}\x1b8\x1b[?2026l` : "";
  }

  #paintFull(repainted: boolean): string {
    const f = this.#full!;
    if (!f.image || (f.drawn && !repainted)) return "";
    f.drawn = true;
    const r = this.app.video.paneRect();
    const { cw, ch } = this.#cell();
    f.painter.reset();
    const s = f.painter.paintImage(f.image, {
      row: r.row + 1,
      col: r.col + 1,
      cols: r.width,
      rows: Math.max(1, r.height - 1),
      cellWidth: cw,
      cellHeight: ch,
    });
    return `\x1b[?2026h\x1b7${typeof s === "string" ? s : utf8d.decode(s)}\x1b8\x1b[?2026l`;
  }

  /** The full view's line on the pane's last row, or null when no picture is shown full size. */
  fullStatus(): { status: string } | null {
    const f = this.#full;
    if (!f) return null;
    const p = f.pic;
    return { status: `${p.name} ${p.width}×${p.height}${f.image ? "" : " (loading…)"} — Esc: back` };
  }

  /** Alt+V opens the newest picture of the buffer; Esc, q or Alt+V closes it. True when used. */
  key(ev: KeyEvent): boolean {
    if (this.#full) {
      const close = ev.type === "key"
        ? ev.key === "Escape" || ev.key === "M-v"
        : ev.type === "text" && ev.text === "q";
      if (!close) return false;
      const id = this.#full.pic.id;
      this.#full = null;
      if (this.#cell().kind === "kitty") this.app.opts.output.write(utf8d.decode(kittyDelete(id + 100000)));
      this.app.invalidate();
      return true;
    }
    if (ev.type !== "key" || ev.key !== "M-v") return false;
    const buf = this.app.state.buffers.current;
    const line = [...buf.lines].reverse().find((l) => this.#pics.has(l));
    if (!line) {
      this.app.state.info(buf, "No picture in this conversation");
      return true;
    }
    this.#open(this.#pics.get(line)!);
    return true;
  }

  #open(pic: Picture): void {
    const load = this.app.opts.loadPicture;
    if (!load || this.app.video.playing) return;
    const { kind, cw, ch } = this.#cell();
    const r = this.app.video.paneRect();
    const pane = {
      row: 1,
      col: 1,
      cols: r.width,
      rows: Math.max(1, r.height - 1),
      cellWidth: cw,
      cellHeight: ch,
    };
    const f = {
      pic,
      image: null as RgbaImage | null,
      painter: new FramePainter(kind, { imageId: pic.id + 100000 }),
      drawn: false,
    };
    this.#full = f;
    this.app.invalidate();
    this.app.track(load(pic.path, panePixels(kind, pane)), (t) => {
      if (this.#full !== f) return;
      if (!t.ok) {
        this.#full = null;
        this.app.invalidate();
        this.app.state.info(this.app.state.buffers.current, `Picture ${pic.name}: ${t.reason}`, "error");
        return;
      }
      f.image = t.image;
      f.drawn = false;
    });
  }
}
