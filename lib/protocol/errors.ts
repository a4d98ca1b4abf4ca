/**
 * Stable error codes shared by server and client. An expected failure travels as an `err` frame
 * carrying one of these codes and a one-sentence message; clients branch on the code, never on
 * the text. `ProtocolError` is thrown by the pure codec for malformed input.
 */

export const ErrorCode = {
  // codec / validation
  FrameTooLarge: "frame_too_large",
  BadFrame: "bad_frame",
  BadJson: "bad_json",
  TooDeep: "too_deep",
  ForbiddenKey: "forbidden_key",
  UnknownKind: "unknown_kind",
  Invalid: "invalid",
  BadVersion: "bad_version",
  // session
  HelloFirst: "hello_first",
  NotAuthenticated: "not_authenticated",
  AlreadyAuthenticated: "already_authenticated",
  Forbidden: "forbidden",
  RateLimited: "rate_limited",
  TooManyConnections: "too_many_connections",
  Timeout: "timeout",
  TooSlow: "too_slow",
  Shutdown: "shutdown",
  Kicked: "kicked",
  Banned: "banned",
  LoggedOut: "logged_out",
  // accounts
  BadCredentials: "bad_credentials",
  Locked: "locked",
  Throttled: "throttled",
  NameTaken: "name_taken",
  BadName: "bad_name",
  WeakPassword: "weak_password",
  LastAdmin: "last_admin",
  RegistrationClosed: "registration_closed",
  InviteRequired: "invite_required",
  BadInvite: "bad_invite",
  PasswordChanged: "password_changed",
  // messaging
  NoSuchUser: "no_such_user",
  NoSuchRoom: "no_such_room",
  RoomExists: "room_exists",
  NotMember: "not_member",
  AlreadyMember: "already_member",
  /** A self-join to a room that is not open (issue 71.12): ask a member to invite you. */
  RoomClosed: "room_closed",
  Duplicate: "duplicate",
  NoKeys: "no_keys",
  BadKeys: "bad_keys",
  Quota: "quota",
  // devices (issue 9)
  NotLinked: "not_linked",
  NoSuchDevice: "no_such_device",
  DeviceRemoved: "device_removed",
  DevicesChanged: "devices_changed",
  DeviceNotApproved: "device_not_approved",
  BadDeviceProof: "bad_device_proof",
  NoSuchLink: "no_such_link",
  Unavailable: "unavailable",
  // files
  NoSuchFile: "no_such_file",
  /** The file's recipient took it already (on another of their devices): it is not kept for a second. */
  FileTaken: "file_taken",
  OverQuota: "over_quota",
  FileTooLarge: "file_too_large",
  Busy: "busy",
  /** The server's disk is nearly full (its free-space floor): nothing more is stored for now. */
  DiskFull: "disk_full",
  /** The relayed files of all users together reached the server's cap. */
  ServerFull: "server_full",
  /** A cluster's node cannot see the files folder of the node that holds the file (no shared --files-dir). */
  FilesNotShared: "files_not_shared",
  /** The file goes straight from its sender by the direct path only: the server holds none of it. */
  DirectOnly: "direct_only",
  Internal: "internal",
} as const;

/**
 * The words of `file_taken`: the server's refusal, and a client's own record of an offer its server
 * lists as taken (files/receive.ts `reconcileTaken`), say the same.
 */
export const TAKEN_ELSEWHERE = "You received this file already, on another of your devices";

export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/** Malformed bytes or messages. `code` is one of `ErrorCode`; `id` is the request id if known. */
export class ProtocolError extends Error {
  constructor(readonly code: ErrorCodeValue, message: string, readonly id?: number) {
    super(message);
    this.name = "ProtocolError";
  }
}
