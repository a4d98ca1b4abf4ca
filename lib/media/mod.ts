/**
 * lib/media — video for Parley: ffmpeg process control, the video library and its renditions,
 * per-viewer streams with a latest-frame slot, JPEG decoding, and terminal image output (kitty,
 * half-block, sixel) with graphics detection and an overlay line. Depends only on lib/common.
 * This entry holds what callers outside lib/media import through it (and the types those name).
 */

export {
  FFMPEG_HINT,
  findFfmpeg,
  GUESSED_VIDEO,
  imageThumbnail,
  isVideoFile,
  probe,
  spawnEarly,
  spawnMjpeg,
} from "./ffmpeg.ts";
export type { ImageCaps, ImageFormat, ImageHeader, ImageRefusal } from "./image_header.ts";
export type {
  EarlyMjpeg,
  EnvReader,
  FrameFormat,
  ImageThumbnail,
  MjpegOptions,
  MjpegSource,
  ProbeInfo,
} from "./ffmpeg.ts";
export { LatestSlot } from "./frame_slot.ts";
export { decodeJpeg, packedRgb } from "./jpeg.ts";
export type { RgbaImage } from "./jpeg.ts";
export { FfmpegMissingError, VideoLibrary } from "./library.ts";
export type { LibraryOptions, VideoInfo } from "./library.ts";
export { formatOverlay, PlaybackMeter } from "./overlay.ts";
export type { OverlayInfo } from "./overlay.ts";
export { FramePainter, panePixels } from "./player.ts";
export type { PaneGeometry } from "./player.ts";
export { JpegDecoder } from "./decoder.ts";
export { FfmpegJpegDecoder } from "./ffmpeg_decoder.ts";
export type { DecoderOutput, FrameDecoder } from "./ffmpeg_decoder.ts";
export { kittyDelete, kittyFileQuery, type KittyOptions } from "./render_kitty.ts";
export { FILE_KEEP, KittyFileSender, type TempFilePort } from "./kitty_file.ts";
export { abortableSleep, VideoStream } from "./stream.ts";
export { isWholeJpeg } from "./jpeg_header.ts";
export { FirstFrameCache, type FirstFrameKey, type FirstFrames } from "./first_frames.ts";
export { TranscodeCache } from "./transcode_cache.ts";
export type { Frame, StreamMode, StreamState, StreamStats, VideoStreamOptions } from "./stream.ts";
export { applyRgbDelta, encodeRgbDelta } from "./rgb_delta.ts";
export { BufferPool } from "./buffer_pool.ts";
export {
  CELL_QUERY,
  cellPixels,
  chooseGraphics,
  DETECT_QUERY,
  KITTY_TRANSFERS,
  kittyTransfer,
  parseDetectReplies,
  TITLE_POP,
  TITLE_PUSH,
} from "./term_detect.ts";
export type { DetectResult, GraphicsKind, KittyTransferSetting } from "./term_detect.ts";
export { RENDITIONS } from "./thirds.ts";
export type { Rendition } from "./thirds.ts";
export type { Clock } from "../common/clock.ts";
