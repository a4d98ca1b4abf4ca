/**
 * The bounds of the hot request's fields (pure constants), the one home both checkers read:
 * messages.ts's valibot schemas and send_check.ts's hand-written check of a usual `send`.
 */

/** A request id: an integer 0..ID_MAX. */
export const ID_MAX = 2 ** 31;
/** A user or room name: 1..NAME_MAX characters. */
export const NAME_MAX = 64;
/** A message id chosen by its sender. */
export const MID_RE = /^[A-Za-z0-9_-]{8,64}$/;
/** A device address ("bob", "bob/2"): at most DEVICE_LEN_MAX characters. */
export const DEVICE_RE = /^[^/\s]+(\/[1-9][0-9]{0,6})?$/;
export const DEVICE_LEN_MAX = 80;
/** Device addresses one `send` may name. */
export const DEVICES_MAX = 64;
/** The longest disappearing time, seconds (366 days). */
export const TTL_MAX = 366 * 86400;
