/**
 * ARCHITECTURE.md rule 9, read from the source on Deno's parser (source_functions.ts): the server's
 * hot functions (run per message, per delivery or per read) make no closure — no function of any
 * kind lies inside them — and the read loop iterates its frames by index.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceFunctions } from "./source_functions.ts";

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

/** The names of the functions that lie inside the function `name` of `src`; null when it has none such. */
function closuresIn(file: string, src: string, name: string): string[] | null {
  const fns = sourceFunctions(file, src), hot = fns.find((f) => f.name === name);
  if (!hot) return null;
  const [from, to] = hot.range;
  return fns.filter((f) => f !== hot && f.range[0] >= from && f.range[1] <= to).map((f) => f.name);
}

Deno.test("rule 9: the server's hot functions make no closure", async () => {
  for (const [file, names] of Object.entries(HOT)) {
    const src = await Deno.readTextFile(join(ROOT, file));
    for (const name of names) {
      const inside = closuresIn(file, src, name);
      assert.ok(inside, `${file}: ${name} not found`);
      assert.deepEqual(inside, [], `${file}: ${name} makes a closure (ARCHITECTURE.md rule 9)`);
    }
  }
});

Deno.test("rule 9: the read loop iterates its frames by index", async () => {
  const file = "lib/server/server.ts", src = await Deno.readTextFile(join(ROOT, file));
  const read = sourceFunctions(file, src).find((f) => f.name === "#read");
  assert.ok(read);
  const body = src.slice(...read.range);
  assert.ok(!/for\s*\(\s*const\s+\w+\s+of\s+decoder/.test(body), "a for-of over the decoder's frames");
  assert.ok(
    /decoder\.push\(/.test(body),
    "the read loop still decodes its frames (the check reads the right code)",
  );
});

Deno.test("rule 9: the check sees a closure put into a hot function, of any kind and name", async () => {
  const file = "lib/server/handlers_messages.ts", src = await Deno.readTextFile(join(ROOT, file));
  const decl =
    'export function send(c: Core, s: Session, m: Request<"send">, body: Uint8Array): void | Promise<void> {';
  assert.ok(src.includes(decl), "send's declaration as the mutations below expect it");
  const put = (code: string) => src.replace(decl, `${decl}\n  ${code}`);
  assert.deepEqual(closuresIn(file, put("void Promise.resolve().then(() => s.user);"), "send"), [
    "send/<anonymous>",
  ]);
  assert.deepEqual(closuresIn(file, put("[1].map(function (x) { return x; });"), "send"), [
    "send/<anonymous>",
  ]);
  assert.deepEqual(closuresIn(file, put("const each = (x: number) => x;"), "send"), ["each"]);
  // Not closures: a string that spells one, a parameter's arrow type.
  assert.deepEqual(closuresIn(file, put('void ("=> function" + String(s));'), "send"), []);
  assert.deepEqual(
    closuresIn(file, put("let f: ((x: number) => void) | null = null;\n  void f;"), "send"),
    [],
  );
});
