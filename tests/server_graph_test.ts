/**
 * What the server loads at start: the modules reachable from server.ts through static imports
 * (`deno info --json`, dynamic imports left out). A single node on SQLite never needs the PostgreSQL
 * and NATS clients; server.ts loads them only for `--store postgres://…` and `--bus` (V8's heap after
 * start 11.4 → 9.8 MB, ~15 ms less CPU to start).
 */
import assert from "node:assert/strict";

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
}

/** Specifiers reachable from `entry` by static imports only. */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const g = JSON.parse(new TextDecoder().decode(out.stdout)) as { roots: string[]; modules: InfoModule[] };
  const mods = new Map(g.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...g.roots];
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of mods.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) todo.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("server.ts loads the PostgreSQL and NATS clients only when asked for (dynamic imports)", async () => {
  const loaded = [...await staticClosure(new URL("../server.ts", import.meta.url).href)];
  assert.ok(loaded.some((s) => s.endsWith("/lib/server/store/sqlite_store.ts")), "the graph was read");
  const cluster = loaded.filter((s) =>
    /\/lib\/server\/(store\/postgres_store|bus\/nats_bus)\.ts$/.test(s) || /^npm:\/?(nats|postgres)@/.test(s)
  );
  assert.deepEqual(cluster, []);
});
