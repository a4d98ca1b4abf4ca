/**
 * `parley irc` (issue 72): a local IRC server in front of one logged-in Parley session. `startIrc`
 * starts the face (face.ts) on the backend and its listener (listen.ts): plain TCP on a loopback
 * address, TLS (a certificate the IRC client pins) on any other; cli/irc.ts runs it.
 */
import { BackendError, type ChatBackend } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import { IrcFace } from "./face.ts";
import { type IrcListener, listenIrc } from "./listen.ts";

export { IrcFace };

/** Whether `host` is a loopback address (the only kind served without TLS). */
export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || host === "[::1]" || host === "localhost";
}

export interface IrcRun {
  face: IrcFace;
  listener: IrcListener;
  /** Stops listening, ends every IRC connection; the backend is the caller's to close. */
  stop(): void;
}

/** Starts the face and its listener; refuses an address that is not loopback. */
export async function startIrc(
  backend: ChatBackend,
  o: {
    host: string;
    port: number;
    password: string;
    clock: Clock;
    log: (line: string) => void;
    /** The certificate and key to serve TLS with: needed on any address but loopback. */
    tls?: { cert: string; key: string };
  },
): Promise<IrcRun> {
  if (!isLoopback(o.host) && !o.tls) {
    throw new BackendError("usage", `parley irc serves ${o.host} only with TLS (loopback addresses without)`);
  }
  const face = new IrcFace(backend, { password: o.password, clock: o.clock });
  await face.start();
  let listener: IrcListener;
  try {
    listener = listenIrc(face, o.host.replace(/^\[|\]$/g, ""), o.port, o.log, o.tls);
  } catch (e) {
    face.stop();
    throw new BackendError("listen_failed", `Cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }
  return {
    face,
    listener,
    stop() {
      listener.close();
      face.stop();
    },
  };
}
