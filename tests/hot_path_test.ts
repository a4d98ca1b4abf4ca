/**
 * ARCHITECTURE.md rule 9, read from the source: the server's hot functions (run per message, per
 * delivery or per read) make no closure — an arrow or a function expression in their body — and the
 * read loop iterates its frames by index. A function is found by its declaration at the start of a
 * line; its body is the braces after its parameter list. Comments are left out.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** The hot functions, by file. */
const HOT: Record<string, string[]> = {
  "lib/server/server.ts": ["#dispatch"],
  "lib/server/handlers_messages.ts": ["send", "sendTo", "sendChecked", "sendDevices", "store"],
  "lib/server/core.ts": ["reserveQuota"],
  "lib/server/message_log.ts": ["enqueue", "#schedule", "room", "readerDone"],
  "lib/server/request_chain.ts": ["run", "pause"],
  "lib/server/room_run.ts": ["fanOutRun"],
  "lib/server/send_reply.ts": ["stored"],
  "lib/server/outbox.ts": ["push", "pushMsg", "pushStored", "#queued", "#flush"],
  "lib/net/tls.ts": ["readChunk", "writeThen"],
};

const escape = (s: string) => s.replace(/[$#]/g, "\\$&");

/** `src` without its comments (line and block; a `//` inside a string is rare enough here). */
function uncommented(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** The body of the function or method `name` declared in `src` (its outer braces included), or null. */
function bodyOf(src: string, name: string): string | null {
  const decl = new RegExp(
    `^[ \\t]*(?:export\\s+)?(?:async\\s+)?(?:function\\s+)?(?:static\\s+)?${escape(name)}\\s*(?:<[^(]*>)?\\(`,
    "gm",
  );
  for (const m of src.matchAll(decl)) {
    let i = m.index + m[0].length, depth = 1;
    for (; i < src.length && depth > 0; i++) depth += src[i] === "(" ? 1 : src[i] === ")" ? -1 : 0;
    if (!/^\s*[:{]/.test(src.slice(i, i + 20))) continue; // a call at a line's start, not a declaration
    const open = src.indexOf("{", i);
    if (open < 0) return null;
    depth = 0;
    for (let j = open; j < src.length; j++) {
      depth += src[j] === "{" ? 1 : src[j] === "}" ? -1 : 0;
      if (depth === 0) return src.slice(open, j + 1);
    }
  }
  return null;
}

/** The closures `body` makes: arrows and function expressions (string literals left out). */
function closuresIn(body: string): string[] {
  const code = body.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""');
  return [...code.matchAll(/=>|\bfunction\b/g)].map((m) =>
    code.slice(Math.max(0, m.index - 30), m.index + 2).trim()
  );
}

Deno.test("rule 9: the server's hot functions make no closure", async () => {
  for (const [file, names] of Object.entries(HOT)) {
    const src = uncommented(await Deno.readTextFile(join(ROOT, file)));
    for (const name of names) {
      const body = bodyOf(src, name);
      assert.ok(body, `${file}: ${name} not found`);
      assert.deepEqual(closuresIn(body), [], `${file}: ${name} makes a closure (ARCHITECTURE.md rule 9)`);
    }
  }
});

Deno.test("rule 9: the read loop iterates its frames by index", async () => {
  const body = bodyOf(uncommented(await Deno.readTextFile(join(ROOT, "lib/server/server.ts"))), "#read");
  assert.ok(body);
  assert.ok(!/for\s*\(\s*const\s+\w+\s+of\s+decoder/.test(body), "a for-of over the decoder's frames");
  assert.ok(
    /decoder\.push\(/.test(body),
    "the read loop still decodes its frames (the check reads the right code)",
  );
});

Deno.test("rule 9: the check sees a closure put into a hot function, and finds functions in every form", async () => {
  const src = uncommented(await Deno.readTextFile(join(ROOT, "lib/server/handlers_messages.ts")));
  const send = bodyOf(src, "send")!;
  const broken = src.replace(send, send.replace("{", "{\n  void Promise.resolve().then(() => s.user);"));
  assert.equal(closuresIn(bodyOf(broken, "send")!).length, 1);
  const withFn = src.replace(send, send.replace("{", "{\n  [1].map(function (x) { return x; });"));
  assert.equal(closuresIn(bodyOf(withFn, "send")!).length, 1);
  assert.deepEqual(closuresIn('{ if (typeof f !== "function") g("=>"); }'), [], "a string is not a closure");
  // A method, a private method, a static one, a generic function, and a parameter list with arrow types;
  // a call of the same name at a line's start is not its declaration.
  assert.equal(
    bodyOf("  store(a, b);\nfunction store(x: number): void {\n  go();\n}", "store"),
    "{\n  go();\n}",
  );
  const forms = [
    "  run(m: M, body: Uint8Array): void {\n    a();\n  }",
    "  #flush(): void {\n    a();\n  }",
    "  static written(this: WriteReq, status: number): void {\n    a();\n  }",
    "export function fanOutRun<T>(x: T): T | null {\n  return x;\n}",
    "  writeThen(b: Uint8Array, done: (err?: unknown) => void): void {\n    a();\n  }",
  ];
  for (const [k, name] of ["run", "#flush", "written", "fanOutRun", "writeThen"].entries()) {
    const body = bodyOf(forms[k]!, name);
    assert.ok(body && body.startsWith("{") && body.endsWith("}"), name);
    assert.deepEqual(closuresIn(body), [], `${name}: a parameter's arrow type is not the body's`);
  }
});
