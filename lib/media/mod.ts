/**
 * lib/media — video for Parley: ffmpeg process control, the MJPEG splitter, renditions and the
 * video library, pacing, thirds and adaptive planning, per-viewer streams with a latest-frame
 * slot, and terminal image encoders (kitty, sixel, half-block) with detection and an overlay.
 * Depends only on lib/common.
 */

export {
  ADAPTIVE_DEFAULTS,
  adaptiveStep,
  initialAdaptive,
  sizeChanged,
  targetSize,
  wantedRendition,
} from "./adaptive.ts";
export type { AdaptiveInput, AdaptiveOptions, AdaptiveState } from "./adaptive.ts";
export { benchMedia } from "./bench.ts";
export type { BenchOptions, BenchRow } from "./bench.ts";
export {
  FFMPEG_HINT,
  FfmpegError,
  findFfmpeg,
  isVideoFile,
  makeRendition,
  mjpegArgs,
  parseProbe,
  probe,
  spawnMjpeg,
} from "./ffmpeg.ts";
export type { EnvReader, MjpegOptions, MjpegSource, ProbeInfo, RenditionOptions } from "./ffmpeg.ts";
export { LatestSlot } from "./frame_slot.ts";
export { decodeJpeg, fitInto, scaleBox, scaleNearest } from "./jpeg.ts";
export type { RgbaImage } from "./jpeg.ts";
export {
  FfmpegMissingError,
  renditionHeight,
  renditionsFor,
  VIDEO_EXTENSIONS,
  VideoLibrary,
} from "./library.ts";
export type { LibraryOptions, VideoInfo } from "./library.ts";
export { MAX_FRAME_BYTES, MjpegSplitter } from "./mjpeg_splitter.ts";
export { formatOverlay, PlaybackMeter } from "./overlay.ts";
export { FramePainter, panePixels } from "./player.ts";
export { JpegDecoder } from "./decoder.ts";
export { FfmpegJpegDecoder } from "./ffmpeg_decoder.ts";
export { jpegSize } from "./jpeg_header.ts";
export type { FrameDecoder } from "./ffmpeg_decoder.ts";
export type { PaneGeometry } from "./player.ts";
export type { OverlayInfo } from "./overlay.ts";
export { Pacer } from "./pacer.ts";
export { renderHalfblock } from "./render_halfblock.ts";
export type { HalfblockOptions } from "./render_halfblock.ts";
export { KITTY_CHUNK, kittyDelete, renderKitty } from "./render_kitty.ts";
export type { KittyOptions } from "./render_kitty.ts";
export { renderSixel } from "./render_sixel.ts";
export type { SixelOptions } from "./render_sixel.ts";
export { abortableSleep, VideoStream } from "./stream.ts";
export type { Frame, StreamMode, StreamState, StreamStats, VideoStreamOptions } from "./stream.ts";
export { applyRgbDelta, encodeRgbDelta } from "./rgb_delta.ts";
export {
  CELL_QUERY,
  cellPixels,
  chooseGraphics,
  DEFAULT_CELL,
  DETECT_QUERY,
  parseDetectReplies,
  TITLE_POP,
  TITLE_PUSH,
} from "./term_detect.ts";
export type { DetectResult, GraphicsKind } from "./term_detect.ts";
export { nearestRendition, planThirds, RENDITION_HEIGHT, RENDITIONS, segmentForFrame } from "./thirds.ts";
export type { Rendition, ThirdsSegment } from "./thirds.ts";
