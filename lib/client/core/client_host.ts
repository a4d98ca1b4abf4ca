/**
 * `ClientHost`: what the parts of the conversation core (receiving.ts, message_changes.ts,
 * sending.ts) need of it — the current session (chat_session.ts: its frame cap, whether it is gone,
 * its drop limit), its link, who is logged in, the local store, the current body codec, the clock,
 * the engine's driver, and a way to tell listeners; the server connection, the session's `conn`, only
 * for what is the server's alone (its pushes, sync, history, `message.unsend`), absent in peer mode.
 * `ChatClient` is the one implementation.
 */
import type { BackendEvent, ChatMessage, Role } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import type { BodyCodec } from "../e2e/mod.ts";
import type { LocalStore } from "../session/local_store.ts";
import type { Link } from "./link.ts";
import type { ChatSession } from "./chat_session.ts";
import type { Effect, EngineState, Input } from "./engine.ts";

export interface ClientHost {
  /** Where messages go and come from, and its policies (chat_session.ts). */
  readonly session: ChatSession;
  /** Where sealed messages arrive (the server relay over the session's `conn`, or a peer channel's). */
  readonly link: Link;
  readonly user: string;
  role: Role;
  readonly store: LocalStore | null;
  /** The current codec (it may be swapped once end-to-end keys are set up). */
  readonly codec: BodyCodec;
  readonly clock: Clock;
  /** The conversation engine and the driver of its effects (engine.ts; driver.ts's `Driver`). */
  readonly engine: EngineHandle;
  /** Emits an event to the client's listeners. */
  notify(e: BackendEvent): void;
  /**
   * Optional (away.ts): answers a message that arrived live, once opened and saved, with the away
   * reason; notes a direct text sent (`sent`) so that only an away reply asked for is shown (`expects`).
   */
  readonly away?: {
    answer(m: ChatMessage): Promise<void>;
    sent(to: string): void;
    expects(from: string): boolean;
  };
}

/** The engine as the core's parts feed it: `step` keeps the new state and answers the effects, `drive` carries them out too. */
export interface EngineHandle {
  readonly state: EngineState;
  step(input: Input): Effect[];
  drive(input: Input): Promise<void>;
}
