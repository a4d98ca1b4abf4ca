/**
 * `LoginOptions`: what `ChatClient.login` takes — the connection and account, the local store and
 * body codec the client is assembled with, and what is injected (password hashing policy, ffmpeg
 * finder, clock, timers). Types only.
 */
import type { Clock, Timers } from "../../common/clock.ts";
import type { BodyCodec } from "../e2e/mod.ts";
import type { KdfPolicy } from "../session/account_login.ts";
import type { Connection } from "../session/connection.ts";
import type { LocalStore } from "../session/local_store.ts";

export interface LoginOptions {
  conn: Connection;
  server: string;
  user: string;
  password: string;
  register?: boolean;
  clientName?: string;
  store?: LocalStore;
  codec?: BodyCodec;
  /** Client-side password hashing (tests use fast parameters). */
  kdf?: KdfPolicy;
  /** Finds ffmpeg for sending streams (the entry point injects the environment). */
  findFfmpeg?: () => string | null;
  /** A remembered resume token: logs in with it instead of the password (see session/account_login.ts). */
  token?: string;
  /** Asks for a resume token with this password login (then in `ChatClient.token`). */
  remember?: boolean;
  /** Registering: an admin's one-time invitation code. */
  invite?: string;
  /** A one-shot scripted command: the server announces no presence for this session (issue 34.14). */
  quiet?: boolean;
  /** The clock every time this client stamps comes from (default: the system's). */
  clock?: Clock;
  /** What the kept sends' retry waits on (default: the runtime's timers; tests see each retry). */
  timers?: Timers;
  /** This folder's device proof for the session of hello's `nonce` (a reconnect: session/account_login.ts). */
  proveDevice?: (nonce: string) => Promise<Record<string, unknown> | null>;
}
