/**
 * lib/client/video — the client's video features, for the scripted commands and the full-screen
 * client: `VideoClient` (list and play the server's library), `VideoPlayer` (draws any
 * `FrameSource` into a pane with an overlay line), `PeerStreams` (user-to-user streams, sealed end
 * to end) and `detectTerminal` (renderer choice by query).
 */
export { Playback, VideoClient } from "./video_client.ts";
export type { FrameSource, PlaybackEnd, PlayOptions, VideoEntry, VideoFrame } from "./video_client.ts";
export { VideoPlayer } from "./player.ts";
export type { PlayerOptions, PlayerSummary } from "./player.ts";
export { IncomingStream, PeerStreams } from "./peer_stream.ts";
export type { SendOptions, SendResult, StreamOffer } from "./peer_stream.ts";
export { detectTerminal } from "./terminal.ts";
export type { TerminalInfo } from "./terminal.ts";
