/**
 * The dependency rules of ARCHITECTURE.md, read from the import statements of every .ts file
 * under lib/ and the two entry files (regex over `import … from "…"`, `export … from "…"` and
 * dynamic `import("…")`). A forbidden edge fails the test with the file and the import.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const IMPORT_RE =
  /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.isFile && p.endsWith(".ts")) yield p;
  }
}

export interface Edge {
  from: string;
  to: string;
  spec: string;
}

/** Relative (repo-root) import edges of the local files; package imports are skipped. */
export async function importGraph(): Promise<Edge[]> {
  const files = ["server.ts", "client.ts"].map((f) => join(ROOT, f));
  for await (const f of tsFiles(join(ROOT, "lib"))) files.push(f);
  const edges: Edge[] = [];
  for (const f of files) {
    const src = await Deno.readTextFile(f);
    for (const m of src.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith(".")) continue;
      edges.push({ from: relative(ROOT, f), to: relative(ROOT, normalize(join(dirname(f), spec))), spec });
    }
  }
  return edges;
}

const area = (p: string) => {
  const parts = p.split("/");
  if (parts[0] !== "lib") return parts[0]!;
  if (parts[1] === "client" && parts[2] === "tui") return "client/tui";
  if (parts[1] === "server" && parts[2] === "store") return "server";
  return parts[1]!;
};

/** Why an edge is forbidden, or null when it is allowed. */
export function violation(e: Edge): string | null {
  const a = area(e.from);
  const b = area(e.to);
  const file = e.to.split("/").pop()!;
  if (e.from.startsWith("lib/") && e.to.startsWith("tests/")) return "lib never imports tests/";
  if (e.from.endsWith("_test.ts")) return null; // a test may reach for what it tests
  if (["protocol", "crypto", "media", "common"].includes(a) && b !== a && b !== "common") {
    return `${a} depends only on common`;
  }
  if (a === "server" && b === "crypto" && !/^password[\w]*\.ts$/.test(file)) {
    return "the server never imports message encryption (only crypto/password*.ts)";
  }
  if (a === "server" && (b === "client" || b === "client/tui")) {
    return "server and client never import each other";
  }
  if ((a === "client" || a === "client/tui") && b === "server") {
    return "server and client never import each other";
  }
  if (a === "client/tui" && (b === "net" || e.to === "lib/protocol/frame.ts")) {
    return "client/tui never imports net/ or protocol/frame";
  }
  return null;
}

Deno.test("architecture: no import crosses a forbidden edge (ARCHITECTURE.md dependency direction)", async () => {
  const edges = await importGraph();
  assert.ok(edges.length > 50, `only ${edges.length} edges found: is the regex broken?`);
  const bad = edges.map((e) => ({ e, why: violation(e) })).filter((x) => x.why);
  assert.deepEqual(bad.map((x) => `${x.e.from} → ${x.e.spec}: ${x.why}`), []);
});

Deno.test("architecture: violation() catches each forbidden kind of edge", () => {
  const cases: [string, string, boolean][] = [
    ["lib/server/hub.ts", "lib/crypto/dm.ts", true],
    ["lib/server/accounts.ts", "lib/crypto/password.ts", false],
    ["lib/server/accounts.ts", "lib/crypto/password_worker.ts", false],
    ["lib/server/store/sqlite_store.ts", "lib/crypto/mod.ts", true],
    ["lib/crypto/dm.ts", "lib/protocol/messages.ts", true],
    ["lib/protocol/frame.ts", "lib/common/bytes.ts", false],
    ["lib/media/jpeg.ts", "lib/net/tls.ts", true],
    ["lib/client/tui/app.ts", "lib/net/tls.ts", true],
    ["lib/client/tui/app.ts", "lib/protocol/frame.ts", true],
    ["lib/client/tui/app.ts", "lib/client/backend.ts", false],
    ["lib/client/chat_client.ts", "lib/crypto/dm.ts", false],
    ["lib/client/chat_client.ts", "lib/server/hub.ts", true],
    ["lib/server/core.ts", "lib/client/backend.ts", true],
    ["lib/common/bytes.ts", "tests/helpers.ts", true],
  ];
  for (const [from, to, bad] of cases) {
    assert.equal(violation({ from, to, spec: to }) !== null, bad, `${from} → ${to}`);
  }
});
