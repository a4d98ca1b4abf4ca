/**
 * The dependency rules of ARCHITECTURE.md, read from the import statements of every .ts file
 * under lib/ and the two entry files (regex over `import … from "…"`, `export … from "…"` and
 * dynamic `import("…")`). A forbidden edge fails the test with the file and the import.
 * Also rule 2 (only the named files touch sockets, the terminal, processes and the file system),
 * rule 6 (nothing in lib/ reads Deno.args or Deno.env) and "lib/ never reaches into tests/" for
 * every file, tests included (a path such as `../../tests/testdata` counts, not only imports).
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

/** Every .ts file under lib/ with its source (comments removed), repo-relative. */
export async function libSources(): Promise<{ file: string; src: string }[]> {
  const out: { file: string; src: string }[] = [];
  for await (const f of tsFiles(join(ROOT, "lib"))) {
    const src = (await Deno.readTextFile(f)).replace(/\/\*[\s\S]*?\*\//g, "").replace(
      /(^|[^:"'`\w])\/\/.*$/gm,
      "$1",
    );
    out.push({ file: relative(ROOT, f), src });
  }
  return out;
}

const isTestCode = (f: string) => /(_test|_testing|_test_util)\.ts$/.test(f);

/** Rule 2: which files may touch what. Test code is exempt (it reads fixtures, spawns programs). */
export const IO_RULES: { what: string; re: RegExp; files: string[] }[] = [
  {
    what: "sockets",
    re:
      /\bDeno\.(connect|listen|connectTls|listenTls|startTls|serve|resolveDns)\b|["']node:(net|tls|dgram|http|https|http2)["']|\bfetch\(|\bnew WebSocket\b|from ["'](postgres|nats)["']/,
    files: [
      "lib/net/tls.ts",
      "lib/net/tls_server.ts",
      "lib/net/peer_net.ts",
      "lib/net/http_metrics.ts",
      "lib/client/irc/listen.ts", // `parley irc`'s loopback IRC listener (issue 72)
      "lib/server/store/postgres_store.ts",
      "lib/server/bus/nats_bus.ts",
    ],
  },
  {
    what: "the terminal",
    re:
      /\bDeno\.(stdin|stdout|stderr|consoleSize)\b|["']node:(tty|readline|process)["']|\bconsole\.(log|error|warn|info)\(/,
    files: ["lib/client/term/terminal.ts"], // the client's one TerminalIo
  },
  {
    what: "processes",
    re: /\bDeno\.(Command|run|kill)\b|["']node:child_process["']/,
    // ffmpeg_decoder.ts: the client's long-lived ffmpeg JPEG decoder (issue 17), beside ffmpeg.ts;
    // client/term/terminal.ts: `stty`, the terminal's own settings (output processing off while a video plays).
    files: ["lib/media/ffmpeg.ts", "lib/media/ffmpeg_decoder.ts", "lib/client/term/terminal.ts"],
  },
  {
    what: "the file system",
    re:
      /\bDeno\.(readFile|readTextFile|writeFile|writeTextFile|open|create|mkdir|remove|rename|stat|lstat|readDir|makeTempDir|makeTempFile|chmod|chown|truncate|copyFile|realPath|link|symlink|readLink|utime|watchFs)(Sync)?\b|["']node:(fs|fs\/promises|sqlite)["']/,
    files: [
      "lib/server/data_dir.ts",
      "lib/server/file_store.ts",
      "lib/server/file_meta.ts",
      "lib/server/file_handles.ts",
      "lib/server/backup.ts",
      "lib/server/backup_folder.ts",
      "lib/server/restore.ts",
      "lib/client/files/transfers.ts",
      "lib/client/files/disk.ts",
      "lib/server/store/sqlite_base.ts",
      "lib/server/store/segment_import.ts",
      "lib/server/store/sqlite_check.ts",
      "lib/server/data_check.ts",
      "lib/client/session/local_store.ts",
      "lib/client/session/crypto_store.ts",
      "lib/client/peer/store.ts",
      "lib/client/session/trust.ts",
      "lib/client/session/home_dir.ts",
      "lib/media/library.ts",
      "lib/media/ffmpeg.ts",
      "lib/client/term/terminal.ts", // kitty frames' pixels in temporary files (/tmp) for the terminal
    ],
  },
];

/** Rule 2, 6 and lib→tests for one file's source: the broken rules, as sentences. */
export function sourceViolations(file: string, src: string): string[] {
  const out: string[] = [];
  if (/["'`](?:\.\.\/)+tests\//.test(src)) out.push("lib never reaches into tests/ (imports or paths)");
  if (isTestCode(file)) return out;
  for (const r of IO_RULES) {
    if (r.re.test(src) && !r.files.includes(file)) out.push(`only ${r.files.join(", ")} touch ${r.what}`);
  }
  if (/\bDeno\.(args|env)\b/.test(src)) out.push("nothing in lib/ reads Deno.args or Deno.env (rule 6)");
  if (readsWallClock(file, src) && !CLIENT_CLOCK_DEBT.includes(file)) {
    out.push(
      "lib/client reads time only through an injected clock (rule 6, issue 35): no Date.now(), new Date()",
    );
  }
  return out;
}

/**
 * A client file (not test code) that reads the wall clock itself instead of a `Clock`
 * (lib/common/clock.ts, the one home of the system clock: `systemClock`).
 */
export function readsWallClock(file: string, src: string): boolean {
  return file.startsWith("lib/client/") && !isTestCode(file) && /\bDate\.now\b|\bnew Date\(\s*\)/.test(src);
}

/**
 * Client files that still read the wall clock themselves (issue 35: one injected clock), all owned
 * by other work in progress; a file that stops must leave the list (the test fails on a stale
 * entry), so the list only shrinks.
 */
export const CLIENT_CLOCK_DEBT: string[] = [];

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
  if (a === "net" && !["net", "protocol", "common"].includes(b)) {
    // The peer socket file runs the signed peer handshake (and names identity types): nothing else of crypto.
    const peerHandshake = e.from === "lib/net/peer_net.ts" && /^(peer_handshake|identity)\.ts$/.test(file) &&
      b === "crypto";
    if (!peerHandshake) {
      return "net depends only on protocol and common (peer_net.ts: crypto/peer_handshake.ts)";
    }
  }
  if (a === "server" && b === "crypto" && !/^(password[\w]*|prekey_verify)\.ts$/.test(file)) {
    return "the server never imports message encryption (only crypto/password*.ts and prekey_verify.ts)";
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

/**
 * The client's floors (issue 35): a folder imports only from folders on lower floors, never from a
 * sibling on its own floor (files and video; cli and tui). The door (lib/client/backend.ts, the
 * contract every surface speaks) and term/ (terminal input decoding) sit at the bottom.
 */
export const CLIENT_FLOORS: Record<string, number> = {
  door: 0,
  term: 1,
  session: 2,
  e2e: 3,
  core: 4,
  files: 5,
  video: 5,
  start: 6,
  peer: 7,
  irc: 7,
  cli: 8,
  tui: 8,
};

/**
 * Arrows that still run the wrong way, each to be removed by the redesign; an arrow that is gone
 * must leave this list too (the test fails on a stale entry), so the list only shrinks.
 */
export const CLIENT_FLOOR_DEBT: string[] = [];

const clientFolder = (p: string): string | null => {
  const s = p.split("/");
  if (s[0] !== "lib" || s[1] !== "client") return null;
  return s.length === 3 ? "door" : s[2]!;
};

/** Why an edge between two client folders breaks the floors, or null. */
export function clientFloorViolation(e: Edge): string | null {
  if (/(_test|_testing)\.ts$/.test(e.from)) return null;
  const a = clientFolder(e.from), b = clientFolder(e.to);
  if (a === null || b === null || a === b) return null;
  const fa = CLIENT_FLOORS[a], fb = CLIENT_FLOORS[b];
  if (fa === undefined) return `lib/client/${a}/ has no floor in CLIENT_FLOORS`;
  if (fb === undefined) return `lib/client/${b}/ has no floor in CLIENT_FLOORS`;
  if (fb > fa) return `client/${a} (floor ${fa}) imports client/${b} (floor ${fb}) above it`;
  if (fb === fa) return `client/${a} and client/${b} are siblings on floor ${fa} and never import each other`;
  return null;
}

Deno.test("architecture: the client's folders import only downward (issue 35 floors)", async () => {
  const edges = await importGraph();
  const bad = [...new Set(edges.filter((e) => clientFloorViolation(e)).map((e) => `${e.from} → ${e.to}`))];
  assert.deepEqual(bad.filter((x) => !CLIENT_FLOOR_DEBT.includes(x)), [], "new arrows against the floors");
  assert.deepEqual(
    CLIENT_FLOOR_DEBT.filter((x) => !bad.includes(x)),
    [],
    "arrows gone: remove them from the debt list",
  );
  // Every client folder has a floor.
  for await (const d of Deno.readDir(join(ROOT, "lib/client"))) {
    if (d.isDirectory && d.name !== "testdata") assert.ok(d.name in CLIENT_FLOORS, `${d.name} has no floor`);
  }
});

Deno.test("architecture: clientFloorViolation() refuses upward and sibling arrows", () => {
  const cases: [string, string, boolean][] = [
    ["lib/client/e2e/codec.ts", "lib/client/files/offer.ts", true],
    ["lib/client/session/connection.ts", "lib/client/core/chat_client.ts", true],
    ["lib/client/video/player.ts", "lib/client/files/disk.ts", true],
    ["lib/client/cli/main.ts", "lib/client/tui/app.ts", true],
    ["lib/client/files/transfers.ts", "lib/client/core/chat_client.ts", false],
    ["lib/client/tui/app.ts", "lib/client/backend.ts", false],
    ["lib/client/backend.ts", "lib/client/core/chat_client.ts", true],
    ["lib/client/e2e/codec_test.ts", "lib/client/files/offer.ts", false],
  ];
  for (const [from, to, bad] of cases) {
    assert.equal(clientFloorViolation({ from, to, spec: to }) !== null, bad, `${from} → ${to}`);
  }
});

/**
 * lib/client/e2e/ has one public face (issue 35): a client file outside e2e/ (test code aside)
 * imports from it only through e2e/mod.ts, never its internals; and e2e/ never imports files/ (the
 * floors forbid it too; said here by name). Imports still to move wait in E2E_FACE_DEBT, which only shrinks.
 */
export const E2E_FACE_DEBT: string[] = [];

/** Why an edge reaches into e2e/ past its face (or from e2e/ into files/), or null. */
export function e2eFaceViolation(e: Edge): string | null {
  const inE2e = (p: string) => p.startsWith("lib/client/e2e/");
  if (inE2e(e.from) && e.to.startsWith("lib/client/files/")) return "client/e2e never imports client/files";
  if (!e.from.startsWith("lib/client/") || inE2e(e.from) || isTestCode(e.from)) return null;
  if (inE2e(e.to) && e.to !== "lib/client/e2e/mod.ts") {
    return `imports ${e.to}: go through lib/client/e2e/mod.ts`;
  }
  return null;
}

Deno.test("architecture: features use e2e/ only through e2e/mod.ts; e2e never imports files", async () => {
  const edges = await importGraph();
  assert.ok(
    edges.some((e) => e.to === "lib/client/e2e/mod.ts"),
    "nothing imports e2e/mod.ts: is the graph broken?",
  );
  const bad = [...new Set(edges.filter((e) => e2eFaceViolation(e)).map((e) => `${e.from} → ${e.to}`))];
  assert.deepEqual(bad.filter((x) => !E2E_FACE_DEBT.includes(x)), [], "imports past e2e/mod.ts");
  assert.deepEqual(
    E2E_FACE_DEBT.filter((x) => !bad.includes(x)),
    [],
    "moved: remove them from the debt list",
  );
  const cases: [string, string, boolean][] = [
    ["lib/client/peer/conv.ts", "lib/client/e2e/codec.ts", true],
    ["lib/client/core/chat_client.ts", "lib/client/e2e/body_codec.ts", true],
    ["lib/client/core/chat_client.ts", "lib/client/e2e/mod.ts", false],
    ["lib/client/e2e/codec.ts", "lib/client/e2e/keys.ts", false],
    ["lib/client/e2e/codec.ts", "lib/client/files/offer.ts", true],
    ["lib/client/peer/conv_test.ts", "lib/client/e2e/keys.ts", false],
    ["tests/helpers.ts", "lib/client/e2e/codec.ts", false],
  ];
  for (const [from, to, v] of cases) {
    assert.equal(e2eFaceViolation({ from, to, spec: to }) !== null, v, `${from} → ${to}`);
  }
});

/**
 * Import circles among lib/ source files that are still to be broken (members sorted, joined by
 * " ↔ "); a circle that is gone must leave this list too (a stale entry fails), so it only shrinks.
 */
export const CIRCLE_DEBT: string[] = [
  "lib/server/store/pg_accounts.ts ↔ lib/server/store/postgres_store.ts",
];

/**
 * The import circles (strongly connected components of two or more files, or a file importing
 * itself) among the `from` files of `edges` that are not test code; each as its sorted members
 * joined by " ↔ ". Every kind of import counts: `import type`, re-exports, dynamic imports.
 */
export function importCircles(edges: Edge[]): string[] {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    if (!isTestCode(e.from)) out.set(e.from, []);
  }
  for (const e of edges) {
    const next = out.get(e.from);
    if (next && out.has(e.to) && !next.includes(e.to)) next.push(e.to);
  }
  // Tarjan's algorithm: `low` is the smallest index reachable from a node still on the stack.
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), circles: string[] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const members: string[] = [];
    for (let w = ""; w !== v;) {
      w = stack.pop()!;
      onStack.delete(w);
      members.push(w);
    }
    if (members.length > 1 || out.get(v)!.includes(v)) circles.push(members.sort().join(" ↔ "));
  };
  for (const v of [...out.keys()].sort()) if (!index.has(v)) visit(v);
  return circles.sort();
}

Deno.test("architecture: no import circle among lib/ source files; the circle debt only shrinks", async () => {
  const circles = importCircles((await importGraph()).filter((e) => e.from.startsWith("lib/")));
  assert.deepEqual(circles.filter((c) => !CIRCLE_DEBT.includes(c)), [], "new import circles");
  assert.deepEqual(
    CIRCLE_DEBT.filter((c) => !circles.includes(c)),
    [],
    "circles gone: remove them from the debt list",
  );
});

Deno.test("architecture: importCircles() finds loops of any length, not chains, not through tests", () => {
  const e = (from: string, to: string): Edge => ({ from, to, spec: to });
  assert.deepEqual(importCircles([e("a.ts", "b.ts"), e("b.ts", "a.ts")]), ["a.ts ↔ b.ts"]);
  assert.deepEqual(
    importCircles([
      e("a.ts", "b.ts"),
      e("b.ts", "c.ts"),
      e("c.ts", "a.ts"),
      e("c.ts", "d.ts"),
      e("d.ts", "e.ts"),
    ]),
    ["a.ts ↔ b.ts ↔ c.ts"],
  );
  assert.deepEqual(importCircles([e("a.ts", "b.ts"), e("b.ts", "c.ts"), e("a.ts", "c.ts")]), []);
  assert.deepEqual(importCircles([e("a.ts", "a.ts")]), ["a.ts"]);
  assert.deepEqual(importCircles([e("a.ts", "a_test.ts"), e("a_test.ts", "a.ts")]), []);
  assert.deepEqual(
    importCircles([e("a.ts", "b.ts"), e("b.ts", "a.ts"), e("c.ts", "d.ts"), e("d.ts", "c.ts")]),
    ["a.ts ↔ b.ts", "c.ts ↔ d.ts"],
  );
});

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
    ["lib/server/handlers_admin.ts", "lib/crypto/prekey_verify.ts", false],
    ["lib/server/handlers_admin.ts", "lib/crypto/prekeys.ts", true],
    ["lib/server/handlers_admin.ts", "lib/crypto/identity.ts", true],
    ["lib/server/store/sqlite_store.ts", "lib/crypto/mod.ts", true],
    ["lib/crypto/dm.ts", "lib/protocol/messages.ts", true],
    ["lib/protocol/frame.ts", "lib/common/bytes.ts", false],
    ["lib/media/jpeg.ts", "lib/net/tls.ts", true],
    ["lib/client/tui/app.ts", "lib/net/tls.ts", true],
    ["lib/client/tui/app.ts", "lib/protocol/frame.ts", true],
    ["lib/client/tui/app.ts", "lib/client/backend.ts", false],
    ["lib/client/core/chat_client.ts", "lib/crypto/dm.ts", false],
    ["lib/client/core/chat_client.ts", "lib/server/hub.ts", true],
    ["lib/server/core.ts", "lib/client/backend.ts", true],
    ["lib/common/bytes.ts", "tests/helpers.ts", true],
    ["lib/common/bytes_test.ts", "tests/helpers.ts", true],
    ["lib/net/tls.ts", "lib/protocol/frame.ts", false],
    ["lib/net/tls.ts", "lib/common/bytes.ts", false],
    ["lib/net/tls.ts", "lib/crypto/dm.ts", true],
    ["lib/net/peer_net.ts", "lib/crypto/peer_handshake.ts", false],
    ["lib/net/peer_net.ts", "lib/crypto/dm.ts", true],
    ["lib/net/tls.ts", "lib/crypto/peer_handshake.ts", true],
    ["lib/net/peer_net.ts", "lib/server/rate.ts", true],
    ["lib/net/cert.ts", "lib/server/hub.ts", true],
    ["lib/net/cert.ts", "lib/client/session/trust.ts", true],
  ];
  for (const [from, to, bad] of cases) {
    assert.equal(violation({ from, to, spec: to }) !== null, bad, `${from} → ${to}`);
  }
});

Deno.test("architecture: the wall-clock debt of lib/client only shrinks; readsWallClock() sees each form", async () => {
  const reading = (await libSources()).filter(({ file, src }) => readsWallClock(file, src)).map((f) =>
    f.file
  );
  assert.deepEqual(
    CLIENT_CLOCK_DEBT.filter((f) => !reading.includes(f)),
    [],
    "clock debt paid: remove it from the list",
  );
  assert.ok(readsWallClock("lib/client/core/x.ts", "const t = Date.now();"));
  assert.ok(readsWallClock("lib/client/core/x.ts", "f(o.now ?? Date.now)"));
  assert.ok(readsWallClock("lib/client/core/x.ts", "new Date().toISOString()"));
  assert.ok(!readsWallClock("lib/client/core/x.ts", "new Date(e.until)"));
  assert.ok(!readsWallClock("lib/client/core/x_test.ts", "Date.now()"));
  assert.ok(!readsWallClock("lib/server/x.ts", "Date.now()"));
  assert.ok(
    sourceViolations("lib/client/core/x.ts", "const t = Date.now();").some((v) => /injected clock/.test(v)),
    "a new reader outside the debt list is a violation",
  );
});

Deno.test("architecture: rules 2 and 6 and lib→tests hold in every lib/ source file", async () => {
  const files = await libSources();
  assert.ok(files.length > 100, `only ${files.length} files found`);
  const bad = files.flatMap(({ file, src }) => sourceViolations(file, src).map((w) => `${file}: ${w}`));
  assert.deepEqual(bad, []);
  // Every named file exists (a rename would silently widen the rule).
  const names = new Set(files.map((f) => f.file));
  for (const r of IO_RULES) {
    for (const f of r.files) assert.ok(names.has(f), `${f} named by rule 2 is missing`);
  }
});

Deno.test("architecture: sourceViolations() catches each kind (mutations of real files)", () => {
  const cases: [string, string, RegExp | null][] = [
    ["lib/server/hub.ts", "const c = await Deno.connect({ port: 1 });", /touch sockets/],
    ["lib/client/core/chat_client.ts", 'import * as net from "node:net";', /touch sockets/],
    ["lib/client/tui/app.ts", "Deno.stdout.writeSync(x);", /touch the terminal/],
    ["lib/server/server.ts", 'new Deno.Command("sh");', /touch processes/],
    ["lib/client/start/session_setup.ts", "await Deno.readTextFile(p);", /touch the file system/],
    ["lib/server/core.ts", "Deno.writeFileSync(p, b);", /touch the file system/],
    ["lib/crypto/keystore.ts", 'import { readFileSync } from "node:fs";', /touch the file system/],
    ["lib/client/video/client_video.ts", 'Deno.env.get("PARLEY_FFMPEG")', /rule 6/],
    ["lib/server/config.ts", "const a = Deno.args;", /rule 6/],
    // The server's start reads the process only through server.ts's ports (issue 70).
    ["lib/server/launch.ts", 'Deno.env.get("PARLEY_STORE")', /rule 6/],
    ["lib/server/launch.ts", "Deno.stdin.isTerminal()", /touch the terminal/],
    ["lib/server/launch_fds.ts", 'new Deno.Command("prlimit")', /touch processes/],
    [
      "lib/media/render_kitty_test.ts",
      'new URL("../../tests/testdata/x", import.meta.url)',
      /reaches into tests/,
    ],
    ["lib/crypto/_test_util.ts", "`../../tests/testdata/crypto/${name}`", /reaches into tests/],
    ["lib/net/tls.ts", "Deno.connectTls({})", null],
    ["lib/media/ffmpeg.ts", 'new Deno.Command("ffmpeg")', null],
    ["lib/client/term/terminal.ts", "Deno.stdin.setRaw(true)", null],
    ["lib/client/tui/terminal.ts", "Deno.stdin.setRaw(true)", /touch the terminal/], // through term/
    ["lib/client/video/terminal.ts", "Deno.stdout.isTerminal()", /touch the terminal/],
    ["lib/media/ffmpeg_test.ts", "Deno.env.get('PATH'); await Deno.readFile(x)", null],
  ];
  for (const [file, src, want] of cases) {
    const got = sourceViolations(file, src);
    if (want) assert.ok(got.some((g) => want.test(g)), `${file}: ${src} → ${JSON.stringify(got)}`);
    else assert.deepEqual(got, [], `${file}: ${src}`);
  }
});

/**
 * Rule 7, one home per rule: a pattern that only the rule's home may contain (outside test code).
 * Adding a second copy (another NFKC, another control-character class, another ffmpeg lookup …)
 * fails here.
 */
export const ONE_HOME: { rule: string; re: RegExp; files: string[] }[] = [
  {
    rule: "name normalisation",
    re: /\.normalize\(\s*["']NFKC["']\s*\)/,
    files: [
      "lib/protocol/names.ts",
      "lib/crypto/at_rest.ts", /* passwords, not names */
      "lib/client/session/local_store_search.ts", /* text folded for search, not names */
    ],
  },
  {
    rule: "unsafe-character escaping",
    re: /\\x7f|\\x9f|\\u202[aAeE]|\\u2066/,
    files: ["lib/common/sanitize.ts"],
  },
  {
    rule: "finding ffmpeg",
    re: /PARLEY_FFMPEG|\bPATH\b["']|["']PATH["']/,
    files: [
      "lib/media/ffmpeg.ts",
      "tests/bench/terminal_video.ts", /* hands the found path to a spawned client */
    ],
  },
  { rule: "sha256Hex", re: /digest\(\s*["']SHA-256["']/, files: ["lib/common/bytes.ts"] },
  {
    rule: "parsing a peer address's host",
    re: /lastIndexOf\(\s*["']:["']\s*\)/,
    files: ["lib/server/hub.ts"],
  },
  { rule: "parsing a time typed by a user", re: /\bDate\.parse\(/, files: ["lib/common/parse_time.ts"] },
  {
    rule: "converting emoji in outgoing text",
    re: /from\s+["']node-emoji["']/,
    files: ["lib/client/core/emoji.ts"],
  },
  {
    rule: "parsing HOST:PORT ([v6]:port)",
    re: /\\\[\(\[\^\\\]\]\+\)\\\]/,
    files: ["lib/common/host_port.ts"],
  },
  {
    rule: "the scripted time format (isoSeconds)",
    re: /toISOString\(\)\.(?:replace\(\/\\\.\\d|slice\(0,\s*19\))/,
    files: ["lib/common/parse_time.ts"],
  },
  {
    rule: "a scripted command's login, notices and close (scriptedSession)",
    re: /\bconnectAndLogin\(/,
    files: [
      "lib/client/cli/io.ts",
      "lib/client/start/session_setup.ts", /* defines it */
      "lib/client/start/launch.ts", /* the full-screen client's session */
      "lib/client/start/account_passwd.ts", /* passwd: logs in again with the new password */
    ],
  },
  {
    rule: "the doubling back-off",
    re: /\*\s*2\s*\*\*\s*Math\.min\(/,
    files: ["lib/common/backoff.ts", "lib/server/accounts.ts" /* the lockout's, in seconds, capped */],
  },
  {
    rule: "stripping a room name's leading # (withoutHash)",
    re:
      /startsWith\(\s*["']#["']\s*\)\s*\?[^:;]*\.slice\(1\)|replace\(\/\^#\/|\[0\]\s*===\s*["']#["'][^;]*\.slice\(1\)/,
    files: ["lib/protocol/names.ts"],
  },
  {
    rule: "the ban grammar USER [DURATION] [REASON…] (parseKick)",
    re: /USER \[(?:BAN_)?(?:SECONDS|DURATION)\]/,
    files: ["lib/common/parse_time.ts"],
  },
  {
    rule: "the usage grammar of slash commands (lib/common/usage.ts)",
    re: /\.filter\(\(t\) => !t\.startsWith\(["']\[["']\)\)/,
    files: ["lib/common/usage.ts"],
  },
  {
    rule: "the terminal interface (TerminalIo)",
    re: /^export\s+(?:interface|type)\s+TerminalIo\b/m,
    files: ["lib/client/term/terminal.ts"],
  },
  {
    rule: "whose message an id is (issue 69 N2: e2e/changes.ts idTaken, targetOf)",
    re: /\bsendersOf\(/,
    files: [
      "lib/client/e2e/changes.ts",
      "lib/client/session/local_store.ts", /* byMidAny: none when two senders hold an id */
      "lib/client/session/local_store_messages.ts", /* the query */
    ],
  },
  {
    rule: "a text's sealed payload (e2e/keys.ts textPayload: its reply names the sender too)",
    re: /k:\s*["']text["']\s*,\s*mid\b[^}]*\bre\b/,
    files: ["lib/client/e2e/keys.ts"],
  },
];

export function oneHomeViolations(file: string, src: string): string[] {
  if (isTestCode(file)) return [];
  return ONE_HOME.filter((h) => h.re.test(src) && !h.files.includes(file)).map((h) =>
    `a second copy of ${h.rule} (its home: ${h.files[0]})`
  );
}

Deno.test("architecture: each rule has one home (rule 7)", async () => {
  const files = await libSources();
  // The tools and the bench are programs too (they had their own sha256Hex).
  for (const dir of ["tools", "tests/bench"]) {
    for await (const f of tsFiles(join(ROOT, dir))) {
      files.push({ file: relative(ROOT, f), src: await Deno.readTextFile(f) });
    }
  }
  const bad = files.flatMap(({ file, src }) => oneHomeViolations(file, src).map((w) => `${file}: ${w}`));
  assert.deepEqual(bad, []);
  // Mutations: the copies this test replaced.
  const copies: [string, string][] = [
    ["lib/server/handlers_account.ts", 'm.user.normalize("NFKC").toLowerCase()'],
    ["lib/client/cli/main.ts", "s.replace(/[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e]/g, f)"],
    ["lib/common/logger.ts", "const CONTROL = /[\\x00-\\x1f\\x7f-\\x9f]/g;"],
    ["lib/client/video/client_video.ts", 'env("PARLEY_FFMPEG")'],
    ["lib/server/accounts.ts", 'crypto.subtle.digest("SHA-256", utf8.encode(s))'],
    ["lib/server/handlers_account.ts", 's.addr.slice(0, s.addr.lastIndexOf(":"))'],
    ["lib/client/cli/main.ts", "const t = Date.parse(s);"],
    ["tools/compile.ts", 'await crypto.subtle.digest("SHA-256", bytes)'],
    ["tests/bench/chat_load.ts", 'crypto.subtle.digest("SHA-256", utf8.encode(s))'],
    ["lib/client/start/launch.ts", "const m = s.match(/^(?:\\[([^\\]]+)\\]|([^:]+)):(\\d{1,5})$/);"],
    ["lib/client/cli/main.ts", 'import * as nodeEmoji from "node-emoji";'],
    // Issue 35's small things: the copies each of these once had.
    ["lib/client/cli/peer.ts", 'new Date(m.ts).toISOString().replace(/\\.\\d{3}Z$/, "Z")'],
    ["lib/client/cli/manage.ts", "new Date(k.at).toISOString().slice(0, 19)"],
    ["lib/client/cli/files.ts", "const c = await connectAndLogin(o, io.env, io.prompts, { quiet: true });"],
    ["lib/client/peer/redial.ts", "Math.min(30_000, 500 * 2 ** Math.min(n, 30))"],
    ["lib/client/tui/commands_files.ts", 'const room = u.startsWith("#") ? u.slice(1) : u;'],
    ["lib/client/cli/main.ts", 'const name = t.replace(/^#/, "");'],
    ["lib/server/console.ts", 'args: "USER [BAN_SECONDS] [REASON…]",'],
    ["lib/client/tui/commands.ts", 'usage: "USER [SECONDS]",'],
    ["lib/server/console.ts", 'const min = toks.filter((t) => !t.startsWith("[")).length;'],
    ["lib/client/video/terminal.ts", "export interface TerminalIo {"],
    ["lib/client/tui/terminal.ts", "export interface TerminalIo {"],
    // Issue 69 N2: the copies a mid alone once had.
    ["lib/client/peer/conv.ts", "const other = store.local.sendersOf(mid).find((s) => s !== from);"],
    ["lib/client/peer/outbox.ts", 'encodePayload({ v: 1, k: "text", mid: p.mid, text: p.text, ...re })'],
  ];
  for (const [file, src] of copies) assert.equal(oneHomeViolations(file, src).length, 1, `${file}: ${src}`);
});

const EXPORT_RE =
  /^export\s+(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;
/** Exports kept although nothing uses them yet, with the reason. */
const UNUSED_OK = new Map<string, string>([]);

/** Exports of lib/ production modules that no other file (tests included) and not their own file use. */
export function deadExports(files: { file: string; src: string }[]): string[] {
  const out: string[] = [];
  // A re-export (`export { x } from "./x.ts"`, as in mod.ts) is not a use.
  const uses = files.map((o) => ({
    file: o.file,
    src: o.src.replace(/export\s+(?:type\s+)?\{[^}]*\}\s*from\s*["'][^"']+["'];?/g, ""),
  }));
  for (const { file, src } of files) {
    if (isTestCode(file) || file.startsWith("~")) continue;
    for (const m of src.matchAll(EXPORT_RE)) {
      const name = m[1]!;
      const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
      if ((src.match(new RegExp(word.source, "g")) ?? []).length > 1) continue; // used in its own module
      if (uses.some((o) => o.file !== file && word.test(o.src))) continue;
      if (!UNUSED_OK.has(`${file}:${name}`)) out.push(`${file}: ${name}`);
    }
  }
  return out;
}

/**
 * Test-only exports that still sit in production modules, to move into `_testing.ts` files once the
 * branches working on these folders in parallel have merged (moving them now would break their tests).
 * The list may only shrink: a new test-only export belongs in a `_testing.ts` file.
 */
const TEST_ONLY_KNOWN = new Set([
  "lib/common/logger.ts:memoryLogger",
  "lib/crypto/state_store.ts:MemoryCryptoStore",
  "lib/crypto/at_rest.ts:openJson",
  "lib/crypto/at_rest.ts:sealJson",
  "lib/media/jpeg.ts:scaleBox",
  "lib/crypto/membership.ts:changeRequiresRotation",
  "lib/crypto/primitives.ts:x25519PublicFromPrivate",
  "lib/crypto/primitives.ts:ed25519PublicFromPrivate",
]);

const isTestUser = (f: string) => isTestCode(f) || f.startsWith("~tests/");
/** Test-support modules: their exports are for tests by design. */
const isTestSupport = (f: string) => /(conformance|testing|bench)\.ts$/.test(f);

/** Exports of lib/ production modules used only by test code (and not in their own module). */
export function testOnlyExports(files: { file: string; src: string }[]): string[] {
  const uses = files.map((o) => ({
    file: o.file,
    src: o.src.replace(/export\s+(?:type\s+)?\{[^}]*\}\s*from\s*["'][^"']+["'];?/g, ""),
  }));
  const out: string[] = [];
  for (const { file, src } of files) {
    if (isTestCode(file) || isTestSupport(file) || file.startsWith("~")) continue;
    for (const m of src.matchAll(EXPORT_RE)) {
      const name = m[1]!;
      const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
      if ((src.match(new RegExp(word.source, "g")) ?? []).length > 1) continue;
      const users = uses.filter((o) => o.file !== file && word.test(o.src));
      if (users.length && users.every((o) => isTestUser(o.file)) && !TEST_ONLY_KNOWN.has(`${file}:${name}`)) {
        out.push(`${file}: ${name} (used only by tests: move it to a _testing.ts file)`);
      }
    }
  }
  return out;
}

Deno.test("architecture: no dead exports in lib/ (nothing, not even a test, uses them)", async () => {
  const others: { file: string; src: string }[] = [];
  for (const dir of ["tests", "tools"]) {
    for await (const f of tsFiles(join(ROOT, dir))) {
      if (f.endsWith("architecture_test.ts")) continue; // names the mutations below
      others.push({ file: relative(ROOT, f), src: await Deno.readTextFile(f) });
    }
  }
  for (const f of ["server.ts", "client.ts"]) {
    others.push({ file: f, src: await Deno.readTextFile(join(ROOT, f)) });
  }
  const lib = await libSources();
  const all = [...lib, ...others.map((o) => ({ ...o, file: `~${o.file}` }))]; // ~: never a lib module
  assert.deepEqual(deadExports(all), []);
  // Mutation: the dead exports this test replaced.
  const mutated = [...all, {
    file: "lib/crypto/state_store_extra.ts",
    src: "export function emptyWrites(): StoreWrites {\n  return { put: {}, del: [] };\n}\n",
  }];
  assert.deepEqual(deadExports(mutated), ["lib/crypto/state_store_extra.ts: emptyWrites"]);
  assert.deepEqual(testOnlyExports(all), []);
  const helper = [...all, { file: "lib/server/hub_extra.ts", src: "export function fakeHub() {}\n" }, {
    file: "~tests/hub_extra_test.ts",
    src: "fakeHub();",
  }];
  assert.equal(testOnlyExports(helper).length, 1);
});

Deno.test("architecture: type checking stays strict, indexed access included (deno.json)", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
    compilerOptions?: Record<string, unknown>;
  };
  assert.equal(cfg.compilerOptions?.strict, true);
  assert.equal(cfg.compilerOptions?.noUncheckedIndexedAccess, true);
});

/** The conversation engine's files (issue 35.2): decisions only, carried out by core/driver.ts. */
const ENGINE_FILES = [
  "lib/client/core/engine.ts",
  "lib/client/core/engine_outbox.ts",
  "lib/client/core/run.ts",
];
/** What the engine may import for its values (types come from anywhere). */
const ENGINE_VALUE_IMPORTS = new Set(["../session/wire_events.ts", "./engine_outbox.ts", "./run.ts"]);

/** Why an engine file's source (comments removed) is not pure: I/O, time, promises, timers, or an import for values. */
export function engineImpurity(src: string): string[] {
  const out: string[] = [];
  const forms: [RegExp, string][] = [
    [/\bawait\b|\basync\b|\bPromise\b|\.then\(/, "promises"],
    [/\bset(Timeout|Interval)\b|\bclear(Timeout|Interval)\b/, "timers"],
    [/\bDate\b|\bperformance\b|\bclock\b|\bnow\(\)/, "a clock read"],
    [/\bDeno\.|\bconn\.|\blink\.(send|signal|receive|close)\(|\bstore\.|\bfetch\(/, "I/O"],
  ];
  for (const [re, what] of forms) if (re.test(src)) out.push(what);
  for (const m of src.matchAll(/^import\s+(type\s+)?[^;]*?from\s*["']([^"']+)["']/gm)) {
    if (!m[1] && !ENGINE_VALUE_IMPORTS.has(m[2]!)) out.push(`imports ${m[2]} for its values`);
  }
  return out;
}

Deno.test("architecture: the conversation engine does no I/O, reads no clock, makes no promise (issue 35.2)", async () => {
  const files = (await libSources()).filter((f) => ENGINE_FILES.includes(f.file));
  assert.equal(files.length, ENGINE_FILES.length, "an engine file is missing");
  for (const { file, src } of files) assert.deepEqual(engineImpurity(src), [], file);
  // Mutations of the real engine: each impurity is seen.
  const engine = files.find((f) => f.file.endsWith("/engine.ts"))!.src;
  assert.deepEqual(engineImpurity(engine + "\nasync function f() { await g(); }"), ["promises"]);
  assert.deepEqual(engineImpurity(engine + "\nconst t = Date.now();"), ["a clock read"]);
  assert.deepEqual(engineImpurity(engine + "\nsetTimeout(() => {}, 1);"), ["timers"]);
  assert.deepEqual(engineImpurity(engine + '\nhost.conn.request("ack");'), ["I/O"]);
  assert.deepEqual(
    engineImpurity('import { LocalStore } from "../session/local_store.ts";\n' + engine),
    ["imports ../session/local_store.ts for its values"],
  );
});

/**
 * Names of files that comments give (issue 70 item 7): every `name.ts` a comment of a source file
 * under lib/ or of an entry (server.ts, client.ts) names is a file of the tree — matched by its file
 * name, or by the tail of its path when a folder is given (`e2e/room_log.ts`, `../core/link.ts`). A
 * name that is not Parley's own (an npm package's file) waits in COMMENT_NAMES_OK with its reason; an
 * entry no comment needs any more fails too, so the list only holds what is needed.
 */
export const COMMENT_NAMES_OK = new Map<string, string>([]);

/** A `name.ts` or `folder/name.ts` in running text (not `*.ts`, not a suffix such as `_test.ts`). */
const COMMENT_NAME_RE = /(?<![\w.\/*@-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[A-Za-z0-9][\w.-]*\.ts)\b/g;

/** Every `.ts` name that the comments of `src` give, with its line (1-based); Deno's parser finds the comments. */
export function commentFileNames(file: string, src: string): { name: string; line: number }[] {
  const found: { name: string; line: number }[] = [];
  const plugin: Deno.lint.Plugin = {
    name: "comments",
    rules: {
      comments: {
        create: (ctx) => ({
          Program() {
            for (const c of ctx.sourceCode.getAllComments()) {
              const at = c.range[0] + 2; // after `//` or `/*`
              for (const m of c.value.matchAll(COMMENT_NAME_RE)) {
                found.push({ name: m[1]!, line: src.slice(0, at + m.index).split("\n").length });
              }
            }
          },
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, file, src);
  return found;
}

/** Whether a name a comment gives is a file of `tree` (repo-relative paths): by file name, or by its path's tail. */
export function namesTreeFile(name: string, tree: readonly string[]): boolean {
  const path = name.replace(/^(?:\.{1,2}\/)+/, "");
  return tree.some((t) => t === path || t.endsWith(`/${path}`));
}

/** The names that the comments of `files` give and `tree` lacks, as `file:line: name` (COMMENT_NAMES_OK aside). */
export function staleCommentNames(files: { file: string; src: string }[], tree: readonly string[]): string[] {
  return files.flatMap(({ file, src }) =>
    commentFileNames(file, src).filter((n) => !COMMENT_NAMES_OK.has(n.name) && !namesTreeFile(n.name, tree))
      .map((n) => `${file}:${n.line}: ${n.name}`)
  );
}

/** Every file of the repository (repo-relative, forward slashes), hidden folders, node_modules, data/ and dist/ aside. */
async function treeFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") || ["node_modules", "data", "dist"].includes(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(relative(ROOT, p).replaceAll("\\", "/"));
    }
  };
  await walk(ROOT);
  return out;
}

Deno.test("architecture: the files that comments name exist (issue 70 item 7)", async () => {
  const tree = await treeFiles();
  const files: { file: string; src: string }[] = [];
  for (
    const f of tree.filter((t) =>
      t.startsWith("lib/") && t.endsWith(".ts") || /^(server|client)\.ts$/.test(t)
    )
  ) {
    files.push({ file: f, src: await Deno.readTextFile(join(ROOT, f)) });
  }
  assert.ok(files.length > 100, `only ${files.length} files found`);
  const named = files.flatMap(({ file, src }) => commentFileNames(file, src));
  assert.ok(named.length > 200, `only ${named.length} names found in comments: is the pattern broken?`);
  assert.deepEqual(staleCommentNames(files, tree), [], "comments name files that do not exist");
  const unneeded = [...COMMENT_NAMES_OK.keys()].filter((k) => !named.some((n) => n.name === k));
  assert.deepEqual(unneeded, [], "no comment names them any more: remove them from COMMENT_NAMES_OK");
});

Deno.test("architecture: staleCommentNames() sees a gone file in a comment, by name or by path", () => {
  const tree = ["lib/client/e2e/room_log.ts", "lib/client/core/engine.ts", "server.ts"];
  const cases: [string, string[]][] = [
    ["/** acknowledged in batches (ack_batch.ts) */\n", ["x.ts:1: ack_batch.ts"]],
    ["// one\n// the log (core/room_log.ts)\n", ["x.ts:2: core/room_log.ts"]],
    ["/*\n * the log (e2e/room_log.ts), engine.ts, ../core/engine.ts, lib/client/core/engine.ts\n */\n", []],
    ['const f = "ack_batch.ts"; // server.ts\n', []], // a string is not a comment
    ["// the `_test.ts` files, every *.ts, @std/path.ts\n", []],
    ["const a = 1; /* gone.ts */ const b = /gone2.ts/;\n", ["x.ts:1: gone.ts"]],
  ];
  for (const [src, want] of cases) {
    assert.deepEqual(staleCommentNames([{ file: "x.ts", src }], tree), want, src);
  }
});
