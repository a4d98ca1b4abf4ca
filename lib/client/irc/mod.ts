/**
 * `parley irc` (issue 72): a local IRC server in front of one logged-in Parley session. `startIrc`
 * starts the face (face.ts) on the backend and its listener (listen.ts): plain TCP on a loopback
 * address, TLS (a certificate the IRC client pins) on any other; cli/irc.ts runs it.
 */
import { BackendError, type ChatBackend } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import { IrcFace } from "./face.ts";
import { type IrcLimits, type IrcListener, listenIrc } from "./listen.ts";

export type { IrcLimits } from "./listen.ts";

export type { Clock } from "../../common/clock.ts";

/**
 * The contract the face stands on: `ChatBackend`, declared and documented in lib/client/backend.ts
 * (its one home; not re-exported from this entry).
 * @internal
 */
type Backend = ChatBackend;

/** Whether `host` is a loopback address (the only kind served without TLS). */
export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || host === "[::1]" || host === "localhost";
}

/** How `startIrc` runs. */
export interface IrcOptions {
  /** The address to listen on (a loopback address, or any other with `tls`). */
  host: string;
  /** The port (0: any free one, said by `IrcRun.port`). */
  port: number;
  /** The folder's IRC password an IRC client must give (PASS or SASL PLAIN). */
  password: string;
  /** Time (injected). */
  clock: Clock;
  /** Hears the bugs that end one IRC connection (the face goes on). */
  log: (line: string) => void;
  /** The certificate and key to serve TLS with: needed on any address but loopback. */
  tls?: { cert: string; key: string };
  /** Connections at once and the time to register (listen.ts has the defaults). */
  limits?: IrcLimits;
}

/** A running face: where it listens, how many IRC clients are attached, and its stop. */
export interface IrcRun {
  /** The port it listens on. */
  readonly port: number;
  /** How many IRC clients are attached now (registered, not quit). */
  attached(): number;
  /** Stops listening, ends every IRC connection; the backend is the caller's to close. */
  stop(): void;
}

/** Starts the face and its listener; refuses an address other than loopback without TLS. */
export async function startIrc(backend: Backend, o: IrcOptions): Promise<IrcRun> {
  if (!isLoopback(o.host) && !o.tls) {
    throw new BackendError("usage", `parley irc serves ${o.host} only with TLS (loopback addresses without)`);
  }
  const face = new IrcFace(backend, { password: o.password, clock: o.clock });
  await face.start();
  let listener: IrcListener;
  try {
    listener = await listenIrc(face, o.host.replace(/^\[|\]$/g, ""), o.port, o.log, o.tls, o.limits);
  } catch (e) {
    face.stop();
    throw new BackendError("listen_failed", `Cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }
  return {
    port: listener.port,
    attached: () => face.conns.size,
    stop() {
      listener.close();
      face.stop();
    },
  };
}
