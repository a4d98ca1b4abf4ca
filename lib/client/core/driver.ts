/**
 * `Driver`: carries out the conversation engine's effects (engine.ts) for the core (chat_client.ts).
 * It holds the engine's state, feeds it one input at a time (`step`: the new state kept, the effects
 * answered; `drive`: the same, carried out) and does through its `DriverPorts` what the engine only
 * says: tell listeners, reconnect, save to the local store, acknowledge over the current connection
 * (what the server took is fed back as `acked`, a batch it did not take as `ackFailed`), run the acknowledgement tick on the
 * port's timer (`every`: the one timer of the receive path; time read from the injected clock), purge disappearing
 * messages (a failure said as a notice), send the outbox again. `open` and `send` are the caller's
 * (receiving.ts opens through the codec, chat_client.ts sends): `drive` leaves them alone.
 * `sessionDriver` builds the one of each core, client mode's and a peer node's (peer/node.ts).
 */
import type { BackendEvent, ChatMessage } from "../backend.ts";
import { type Effect, type EngineState, initial, type Input, type Seen, step } from "./engine.ts";
import type { ChatSession } from "./chat_session.ts";

/** What the driver does the effects with. */
export interface DriverPorts {
  emit(e: BackendEvent): void;
  reconnect(e: Extract<BackendEvent, { type: "disconnected" }>): void;
  save(m: ChatMessage): void;
  /** Acknowledges over the current connection; rejects when the server did not take it. */
  ack(acks: Seen[]): Promise<void>;
  /** Deletes what ran out of time. */
  purge(now: number): void;
  /** Sends the outbox again, in order, with the same mids. */
  resend(): void;
  /** The injected clock's time, for the tick. */
  now(): number;
  /** Whether the current connection can carry an ack. */
  connOpen(): boolean;
  /** Runs `f` every `ms` until the answered stop is called. */
  every(ms: number, f: () => void): () => void;
}

/** The real timer for `DriverPorts.every`: `setInterval`, stopped by the function it answers. */
export function intervalTimer(ms: number, f: () => void): () => void {
  const t = setInterval(f, ms);
  return () => clearInterval(t);
}

/**
 * The engine of a conversation core over its session (chat_session.ts), in both modes: acknowledged
 * through the current session (`session`: a reconnect swaps it; a peer's acks nothing more), the tick
 * on the real timer, carrying acks while the session is not gone, at `now`'s time; the rest is the core's.
 */
export function sessionDriver(
  session: () => Pick<ChatSession, "user" | "closed" | "ack">,
  now: () => number,
  ports: Pick<DriverPorts, "emit" | "reconnect" | "save" | "purge" | "resend">,
): Driver {
  return new Driver(session().user, {
    ...ports,
    ack: (acks) => session().ack(acks),
    now,
    connOpen: () => !session().closed,
    every: intervalTimer,
  });
}

export class Driver {
  #state: EngineState;
  #stopTick: (() => void) | null = null;

  constructor(me: string, readonly ports: DriverPorts) {
    this.#state = initial(me);
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Feeds one input: the new state is kept, the effects answered (not carried out). */
  step(input: Input): Effect[] {
    const s = step(this.#state, input);
    this.#state = s.state;
    return s.effects;
  }

  /** Feeds one input and carries out its effects; resolves once its acknowledgements are done. */
  drive(input: Input): Promise<void> {
    return this.carry(this.step(input));
  }

  /** Carries out `fx` in order (not `open` nor `send`); a caller's failed ack rejects. */
  carry(fx: Effect[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const f of fx) {
      const w = this.#one(f);
      if (w) waits.push(w);
    }
    return waits.length ? Promise.all(waits).then(() => {}) : Promise.resolve();
  }

  #one(f: Effect): Promise<void> | void {
    const { ports } = this;
    switch (f.kind) {
      case "emit":
        return ports.emit(f.event);
      case "reconnect":
        return ports.reconnect(f.event);
      case "save":
        return ports.save(f.message);
      case "ack": {
        // Taken: the server drops what it covers, so none of it can be handed again (engine.ts `shown`).
        const taken = () => void this.step({ kind: "acked", acks: f.acks });
        if (!f.batch.length) return ports.ack(f.acks).then(taken);
        return ports.ack(f.acks).then(taken, () => this.drive({ kind: "ackFailed", messages: f.batch }));
      }
      case "schedule":
        this.#stopTick ??= ports.every(f.everyMs, () => {
          void this.drive({ kind: "tick", now: ports.now(), connOpen: ports.connOpen() });
        });
        return;
      case "unschedule":
        this.#stopTick?.();
        this.#stopTick = null;
        return;
      case "purge":
        try {
          ports.purge(f.now);
        } catch (e) {
          ports.emit({
            type: "notice",
            level: "warn",
            text: `Disappearing messages: ${(e as Error).message}`,
          });
        }
        return;
      case "resend":
        return ports.resend();
    }
  }
}
