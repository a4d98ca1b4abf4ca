/**
 * The scripted client's start (issue 75): what client.ts loads before it knows the command — the
 * command table of lib/client/cli/main.ts and each family's description — stays light; a family's
 * work (the session, the encryption layer, the player, ffmpeg's modules, peer mode, the IRC face)
 * is a dynamic `import()` made when its command runs. Read from Deno's own module graph
 * (`deno info --json`: static code imports only, type-only and dynamic ones left out).
 */
import assert from "node:assert/strict";

/** Modules a command's work needs and no start may load. */
const LATE = [
  "lib/client/start/session_setup.ts",
  "lib/client/core/chat_client.ts",
  "lib/client/e2e/mod.ts",
  "lib/media/mod.ts",
  "lib/client/video/player.ts",
  "lib/client/peer/node.ts",
  "lib/client/irc/mod.ts",
  "lib/client/files/transfers.ts",
  "lib/net/tls.ts",
  "lib/protocol/messages.ts",
  "lib/client/session/local_store_search.ts",
];

/** The most local modules the start may load (45 now; 53 before `search`'s module left it; 259 before, issue 75). */
const START_BUDGET = 50;

interface Dep {
  code?: { specifier: string };
  isDynamic?: boolean;
}

/**
 * The specifiers `entry` loads before it runs: its static code imports, followed transitively; the
 * project's own as paths from the checkout's root, built-ins and npm packages (`node:tls`,
 * `npm:…`) as Deno names them, a package's own files left out.
 */
async function startModules(entry: string): Promise<string[]> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(o.success, new TextDecoder().decode(o.stderr));
  const info = JSON.parse(new TextDecoder().decode(o.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dep[] }[];
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpec.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  const root = new URL("..", import.meta.url).href;
  return [...seen].filter((s) => !s.includes("/node_modules/")).map((s) =>
    s.startsWith(root) ? s.slice(root.length) : s
  );
}

/** The project's own modules of a start (built-ins and npm packages left out). */
const own = (mods: string[]) => mods.filter((m) => !/^(node|npm|file|https?):/.test(m));

Deno.test("client.ts starts on the command table: each family's work loads when its command runs", async () => {
  const loaded = own(await startModules("client.ts"));
  assert.ok(loaded.includes("lib/client/cli/main.ts"), "the graph was read");
  assert.deepEqual(LATE.filter((m) => loaded.includes(m)), [], "loaded at start, before any command runs");
  assert.ok(
    loaded.length <= START_BUDGET,
    `client.ts loads ${loaded.length} modules of its own at start (at most ${START_BUDGET})`,
  );
});

/**
 * What `parley play` loads before its first frame: the start, the video family's work
 * (cli/video.ts `work`) and the session (cli/io.ts). A logged-in play needs Deno's own TLS, raw
 * frames from ffmpeg and no local store, so node:tls (its sockets and streams: the first-contact
 * probe and the fallback connect), the JPEG decoder (stream frames, pictures), the keystore's
 * attach and side (e2e/mod.ts `keystoreSide`: the codec, the crypto store, the local store and
 * node:sqlite) and the server's half of lib/media (the library, the transcode cache, which the
 * barrel lib/media/mod.ts would bring) load when a command needs them (issue 75).
 */
const PLAY_LATE = [
  "node:tls",
  "node:sqlite",
  "npm:/@jsquash/jpeg",
  "npm:jpeg-js",
  "npm:hash-wasm",
  "npm:@peculiar/x509",
  "lib/client/start/e2e_attach.ts",
  "lib/client/e2e/codec.ts",
  "lib/client/session/crypto_store.ts",
  "lib/client/session/local_store.ts",
  "lib/media/mod.ts",
  "lib/media/library.ts",
  "lib/media/transcode_cache.ts",
];

Deno.test("`play` starts without node:tls, the JPEG decoder, the keystore or SQLite", async () => {
  const entries = [
    "client.ts",
    "lib/client/cli/video_actions.ts",
    "lib/client/cli/video_screen.ts",
    "lib/media/ffmpeg.ts",
    "lib/client/start/session_setup.ts",
  ];
  const loaded = new Set((await Promise.all(entries.map(startModules))).flat());
  assert.ok(loaded.has("lib/client/video/player.ts") && loaded.has("node:crypto"), "the graph was read");
  assert.deepEqual(
    PLAY_LATE.filter((late) => [...loaded].some((m) => m.startsWith(late))),
    [],
    "loaded before play's first frame",
  );
});

/**
 * deno.json's `"unstable": ["lazy-dynamic-imports"]`: `deno run` loads a dynamic `import()` when it runs.
 * Without it, every start reads (and checks the cache of) every module any literal `import()` could
 * reach — for client.ts the full-screen client, peer mode, IRC, … —, ~40 ms of CPU per command
 * before its first line of code (issue 75). Read from Deno's debug log: which files it fetched.
 */
Deno.test("deno.json: a dynamic import loads when it runs, not at every start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-lazy-" });
  try {
    await Deno.writeTextFile(`${dir}/late.ts`, "export const late = 1;\n");
    await Deno.writeTextFile(`${dir}/main.ts`, 'if (Deno.args[0] === "now") await import("./late.ts");\n');
    const fetched = async (arg: string) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read", // a dynamic import loaded late needs it (all of Parley's programs run with it)
          "-L",
          "debug",
          "--config",
          new URL("../deno.json", import.meta.url).pathname,
          `${dir}/main.ts`,
          arg,
        ],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      assert.ok(o.success, new TextDecoder().decode(o.stderr).slice(-400));
      return /fetch[^\n]*late\.ts/i.test(new TextDecoder().decode(o.stderr));
    };
    assert.ok(await fetched("now"), "the log names the files Deno fetches: late.ts when it is imported");
    assert.ok(!(await fetched("later")), "late.ts was read at start, though its import() never ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
