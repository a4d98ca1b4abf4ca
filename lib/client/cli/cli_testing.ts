/**
 * Test harness for the scripted commands in memory: `runCli` (main.ts) with its login port
 * (`CliIo.connect`) answered by tui/fake_backend.ts's `FakeBackend`, given the few members a scripted
 * command reads of the core (an offline queue for `sync`, `ack`, `historyPage`, `catchUp`, requests on
 * `conn`) and a real `LocalStore` in memory. Every line of `out` and `err` is kept; the clock is fixed.
 */
import type { ChatMessage, HistoryPage, HistoryQuery, Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { LoginChoices } from "../start/session_setup.ts";
import { LocalStore } from "../session/local_store.ts";
import { FakeBackend } from "../tui/fake_backend.ts";
import { runCli } from "./main.ts";

/** The fake's clock: 2026-01-01T12:00:00Z. */
export const NOW = Date.UTC(2026, 0, 1, 12, 0);

/** A message to alice's folder (seq, sender, target, text; ts defaults to NOW minus seq minutes). */
export function msg(seq: number, from: string, to: Target, text: string, extra: Partial<ChatMessage> = {}) {
  return { seq, mid: `mid${seq}xxxx`, ts: NOW - seq * 60_000, from, to, text, ...extra } as ChatMessage;
}

export const toAlice: Target = { kind: "user", name: "alice" };
export const dev: Target = { kind: "room", name: "dev" };

/** What the fake core keeps for a scripted command, and what the command did with it. */
export interface MemoryWorld {
  b: FakeBackend;
  client: ChatClient;
  store: LocalStore;
  /** The offline queue `sync` answers with. */
  queue: ChatMessage[];
  acked: number[];
  /** `historyPage`'s pages, per conversation key (`#dev`, `bob`, `*`), newest last. */
  pages: Map<string, ChatMessage[]>;
  /** `catchUp`'s unseen messages; `onCatchUp` runs as it answers (live events for `read --follow`). */
  unseen: ChatMessage[];
  onCatchUp: () => void;
  /** Requests on `conn` (type and header); `replies` answers them by type. */
  requests: [string, Record<string, unknown> | undefined][];
  replies: Map<string, Record<string, unknown>>;
  /** What the login port was handed. */
  logins: LoginChoices[];
}

const keyOf = (t: Target) => t.kind === "broadcast" ? "*" : t.kind === "room" ? `#${t.name}` : t.name ?? "";

/** Alice's core in memory (no socket, no process). */
export function memoryWorld(): MemoryWorld {
  const b = new FakeBackend("alice");
  const store = new LocalStore(":memory:");
  const w: MemoryWorld = {
    b,
    store,
    queue: [],
    acked: [],
    pages: new Map(),
    unseen: [],
    onCatchUp: () => {},
    requests: [],
    replies: new Map(),
    logins: [],
    client: null as unknown as ChatClient,
  };
  const historyPage = (t: Target, q: HistoryQuery = {}): Promise<HistoryPage> => {
    const all = (w.pages.get(keyOf(t)) ?? []).filter((m) =>
      (q.since === undefined || m.ts >= q.since) && (q.before === undefined || m.seq < q.before)
    );
    const oldest = all.length ? Math.min(...all.map((m) => m.seq)) : null;
    return Promise.resolve({ messages: all, count: all.length, oldest, unreadable: 0 });
  };
  w.client = Object.assign(b, {
    store,
    outgoing: null,
    codec: { encrypted: false },
    changes: { purgeExpired: () => [] },
    sync: () => (store.save(w.queue, false), Promise.resolve([...w.queue])), // saved unseen, as the core does
    ack: (ms: ChatMessage[]) => Promise.resolve(void w.acked.push(...ms.map((m) => m.seq))),
    remote: { historyPage },
    history: (t: Target, since?: number) => historyPage(t, { since }).then((p) => p.messages),
    feed: {
      markSeen: (ms: ChatMessage[]) => store.markSeen(ms.map((m) => m.seq)),
      catchUp: () => {
        w.onCatchUp();
        return Promise.resolve({ recent: [], unseen: w.unseen, pending: [] });
      },
    },
    conn: {
      closed: false,
      request: (t: string, h?: Record<string, unknown>) => {
        w.requests.push([t, h]);
        return Promise.resolve({
          header: w.replies.get(t) ?? { t: "ok" },
          items: [],
          body: new Uint8Array(),
        });
      },
    },
  }) as unknown as ChatClient;
  return w;
}

/** Runs `parley ARGV…` on `w` (env: `env`); the exit code and every line written. */
export async function cli(w: MemoryWorld, argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [], err: string[] = [];
  const code = await runCli(argv, {
    env: { get: (k) => env[k] },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    prompts: {},
    version: "0.0.0-test",
    now: () => NOW,
    connect: (_f, _e, _p, o) => (w.logins.push(o ?? {}), Promise.resolve(w.client)),
  });
  return { code, out, err };
}
