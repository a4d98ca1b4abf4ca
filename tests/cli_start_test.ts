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
];

/** The most local modules the start may load (47 when this was written; 259 before, issue 75). */
const START_BUDGET = 60;

interface Dep {
  code?: { specifier: string };
  isDynamic?: boolean;
}

/** The specifiers `entry` loads before it runs: its static code imports, followed transitively. */
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
  return [...seen].filter((s) => s.startsWith(root) && !s.includes("/node_modules/")).map((s) =>
    s.slice(root.length)
  );
}

Deno.test("client.ts starts on the command table: each family's work loads when its command runs", async () => {
  const loaded = await startModules("client.ts");
  assert.ok(loaded.includes("lib/client/cli/main.ts"), "the graph was read");
  assert.deepEqual(LATE.filter((m) => loaded.includes(m)), [], "loaded at start, before any command runs");
  assert.ok(
    loaded.length <= START_BUDGET,
    `client.ts loads ${loaded.length} modules of its own at start (at most ${START_BUDGET})`,
  );
});
