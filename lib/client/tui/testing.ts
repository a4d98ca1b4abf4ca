/**
 * Test harness for screen tests: a `TuiApp` on a `FakeBackend` whose output goes into a real
 * terminal emulator (`@xterm/headless`), with a manual clock and UTC times. `lines()` returns what
 * a person would see, one string per row.
 */
import xt from "@xterm/headless";
import { ManualClock } from "../../common/clock.ts";
import { until } from "../../common/wait_testing.ts";
import type {
  ChatMessage,
  LocalControls,
  MuteList,
  Role,
  RoomControls,
  RoomTopic,
  WordList,
} from "../backend.ts";
import { highlightWord } from "../session/local_highlights.ts";
import { muteName } from "../session/local_mutes.ts";
import { TuiApp } from "./app.ts";
import type { TuiOptions } from "./app_options.ts";
import { FakeBackend } from "./fake_backend.ts";
import type { NotifyMode } from "./notify.ts";

const { Terminal } = xt;

export const T0 = Date.UTC(2026, 0, 1, 12, 0);

/** Two rooms, three users online (one busy), one offline room member. */
export function demoWorld(b: FakeBackend): void {
  b.roomList = [
    { name: "general", members: ["alice", "bob", "carol", "dave"], admins: ["alice"] },
    { name: "random", members: ["alice", "bob"], admins: ["bob"] },
  ];
  b.online = [
    { user: "alice", addr: "10.0.0.1:5000", since: T0 - 2 * 3600e3, status: "free", role: "user" },
    { user: "bob", addr: "10.0.0.2:5000", since: T0 - 15 * 60e3, status: "free", role: "admin" },
    { user: "carol", addr: "10.0.0.3:5000", since: T0 - 3 * 86400e3, status: "busy", role: "user" },
  ];
}

/**
 * Columns for a screen (this harness's, or a tmux window's in tests/) whose lines name files under
 * `folder`: `base` beside the folder's path, so that such a line ("Saved /…/downloads/notes.bin
 * (58.6 KiB) from alice") fits on one line wherever the temp folder is (macOS's is ~50 characters
 * long, Linux's /tmp 4): a test that reads it does not depend on that.
 */
export function colsFor(folder: string, base: number): number {
  return base + folder.length;
}

export const utcTime = (ts: number) => new Date(ts).toISOString().slice(11, 16);

export interface Harness {
  app: TuiApp;
  backend: FakeBackend;
  clock: ManualClock;
  term: InstanceType<typeof Terminal>;
  /** Every string written to the terminal. */
  writes: string[];
  /** Feeds input, waits for the app and the emulator, returns the screen. */
  type(text: string): Promise<string[]>;
  settle(): Promise<string[]>;
  lines(): string[];
  resize(cols: number, rows: number): Promise<string[]>;
  close(): void;
}

export interface HarnessOptions {
  cols?: number;
  rows?: number;
  user?: string;
  role?: Role;
  notify?: NotifyMode;
  setup?: (b: FakeBackend) => void;
  /** Passed to the app as `TuiOptions.videoDecoder`. */
  videoDecoder?: TuiOptions["videoDecoder"];
  /** Passed to the app as `TuiOptions.listPaths`. */
  listPaths?: TuiOptions["listPaths"];
  /** Passed to the app as `TuiOptions.loadPicture`. */
  loadPicture?: TuiOptions["loadPicture"];
  /** Passed to the app as `TuiOptions.files` and `.config` (the settings file and logs). */
  files?: TuiOptions["files"];
  config?: TuiOptions["config"];
  /** Passed to the app as `TuiOptions.peerWatch` and `.openLocalVideo` (peer mode's watch together). */
  peerWatch?: TuiOptions["peerWatch"];
  openLocalVideo?: TuiOptions["openLocalVideo"];
}

export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const cols = o.cols ?? 80;
  const rows = o.rows ?? 24;
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0));
  const backend = new FakeBackend(o.user ?? "alice", "chat.example:7000", o.role ?? "user");
  backend.now = () => clock.now();
  o.setup?.(backend);
  const term = new Terminal({ cols, rows, allowProposedApi: true });
  const writes: string[] = [];
  let chain = Promise.resolve();
  const app = new TuiApp(backend, {
    output: {
      write: (s) => {
        writes.push(s);
        chain = chain.then(() => new Promise<void>((r) => term.write(s, r)));
      },
    },
    cols,
    rows,
    clock,
    formatTime: utcTime,
    notify: o.notify ?? "bell",
    ...(o.videoDecoder ? { videoDecoder: o.videoDecoder } : {}),
    ...(o.listPaths ? { listPaths: o.listPaths } : {}),
    ...(o.loadPicture ? { loadPicture: o.loadPicture } : {}),
    ...(o.files ? { files: o.files } : {}),
    ...(o.config ? { config: o.config } : {}),
    ...(o.peerWatch ? { peerWatch: o.peerWatch } : {}),
    ...(o.openLocalVideo ? { openLocalVideo: o.openLocalVideo } : {}),
  });
  const lines = () => {
    const out: string[] = [];
    const b = term.buffer.active;
    for (let i = 0; i < term.rows; i++) {
      out.push((b.getLine(b.baseY + i)?.translateToString(true) ?? "").trimEnd());
    }
    return out;
  };
  const settle = async () => {
    await app.idle();
    await chain;
    return lines();
  };
  app.start();
  await settle();
  return {
    app,
    backend,
    clock,
    term,
    writes,
    lines,
    settle,
    type: (text) => {
      app.feedText(text);
      return settle();
    },
    resize: (c, r) => {
      term.resize(c, r);
      app.resize(c, r);
      return settle();
    },
    close: () => {
      app.stop();
      term.dispose();
    },
  };
}

/** A set of names in memory, each kept as `norm` says (as the local store's are: session/local_name_set.ts). */
function memorySet(norm: (name: string) => string): MuteList & WordList {
  const on = new Set<string>();
  const list = () => [...on].sort();
  return {
    list: () => Promise.resolve(list()),
    set: (name, add) =>
      Promise.resolve().then(() => {
        const n = norm(name);
        if (add) on.add(n);
        else on.delete(n);
        return list();
      }),
  };
}

/** A mute list in memory, naming conversations as the local store's does (session/local_mutes.ts). */
export const memoryMutes = (): MuteList => memorySet(muteName);

/** Highlight words in memory, kept as the local store keeps them (session/local_highlights.ts). */
export const memoryHighlights = (): WordList => memorySet(highlightWord);
/** A client folder's `local` in memory: `some` over a search that finds nothing, no mutes, words or order. */
export function memoryLocal(some: Partial<LocalControls> = {}): LocalControls {
  let order: string[] = [];
  const bufferOrder = {
    list: () => Promise.resolve([...order]),
    save: (names: readonly string[]) => Promise.resolve(void (order = [...names])),
  };
  const search = () => Promise.resolve({ matches: [], searched: 0, more: false });
  return { search, mutes: memoryMutes(), highlights: memoryHighlights(), bufferOrder, ...some };
}

/** `rooms` with topics held in memory (as a folder with keys holds them): each one set is a setting line of `user`'s. */
export function memoryTopics(rooms: RoomControls, user: string, now: () => number): RoomControls {
  const held = new Map<string, RoomTopic>();
  let n = 0;
  return {
    ...rooms,
    topic: (room) => Promise.resolve(held.get(room)?.text ? held.get(room)! : null),
    setTopic: (room, text) => {
      held.set(room, { text, by: user, at: now() });
      const line: ChatMessage = {
        seq: 900 + ++n,
        mid: `topic${n}`,
        ts: now(),
        from: user,
        to: { kind: "room", name: room },
        text: text ? `✎ topic: ${text}` : "✎ the topic is cleared",
        setting: true,
        topic: text,
      };
      return Promise.resolve(line);
    },
  };
}

/**
 * The screen of `h` (settled, rows joined by newlines) once `ok` holds for it; fails after 5 s
 * naming `what`, whose screen it is and the screen as it was (lib/common/wait_testing.ts `until`).
 */
export async function screenUntil(h: Harness, what: string, ok: (s: string) => boolean): Promise<string> {
  let s = "";
  await until(
    async () => ok(s = (await h.settle()).join("\n")),
    () => `${h.backend.user}: ${what}:\n${s}`,
    5000,
    10,
  );
  return s;
}
