/**
 * SECURITY.md bad-input items 1–8 against a real server over real TLS (item 1's memory is the
 * spawned server's resident set, read from /proc: heap counters miss ArrayBuffers).
 */
import assert from "node:assert/strict";
import { utf8 } from "../lib/common/bytes.ts";
import { encodeFrame, type Frame, FrameDecoder } from "../lib/protocol/frame.ts";
import { eventually, rssKiB, spawnServerProcess, startTestServer } from "./helpers.ts";

/** A raw TLS client: writes what it is told and reads only when asked. */
class Raw {
  readonly dec = new FrameDecoder(64 * 1024 * 1024);
  readonly frames: Frame[] = [];
  closed = false;
  #reading: Promise<Uint8Array | null> | null = null;
  constructor(readonly c: Deno.TlsConn) {}
  static async open(t: { port: number; cert: string }): Promise<Raw> {
    return new Raw(await Deno.connectTls({ hostname: "127.0.0.1", port: t.port, caCerts: [t.cert] }));
  }
  async write(b: Uint8Array) {
    let o = 0;
    while (o < b.length) o += await this.c.write(b.subarray(o));
  }
  send(h: object, body?: Uint8Array) {
    return this.write(encodeFrame(h, body));
  }
  /** Reads until a frame matches, the connection ends, or `ms` pass (a real deadline); null when none matched. */
  async until(pred: (f: Frame) => boolean, ms = 5000): Promise<Frame | null> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      const left = end - Date.now();
      if (this.closed || left <= 0) return null;
      // One read in flight at a time, kept across calls when the deadline passes first.
      this.#reading ??= this.c.read(this.#buf).then(
        (n) => (n === null ? null : this.#buf.subarray(0, n)),
        () => null,
      );
      let id: ReturnType<typeof setTimeout> | undefined;
      const timer = new Promise<"late">((r) => (id = setTimeout(() => r("late"), left)));
      const r = await Promise.race([this.#reading, timer]);
      clearTimeout(id);
      if (r === "late") return null;
      this.#reading = null;
      if (r === null) this.closed = true;
      else this.frames.push(...this.dec.push(r));
    }
  }
  readonly #buf = new Uint8Array(65536);
  /** True when the server closed the connection within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    await this.until(() => false, ms);
    return this.closed;
  }
  async login(user: string) {
    await this.send({ t: "hello", id: 1, v: 1, client: "raw" });
    await this.send({ t: "register", id: 2, user, password: `pw-${user}-secret` });
    assert.ok(await this.until((f) => f.header.id === 2 && f.header.t === "ok"));
  }
  close() {
    try {
      this.c.close();
    } catch { /* closed */ }
  }
}

const isBye = (code: string) => (f: Frame) => f.header.t === "bye" && f.header.code === code;

Deno.test({
  name: "item 1: a length prefix over the cap (or 4 GiB) closes the connection before allocating",
  ignore: Deno.build.os !== "linux", // the server's resident memory is read from /proc
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-item1-" });
  const srv = await spawnServerProcess(dir, { args: ["--max-frame", String(64 * 1024)] });
  try {
    // Warm up (TLS, the first connections), then measure the server process from outside.
    for (let i = 0; i < 5; i++) (await Raw.open(srv)).close();
    await new Promise((r) => setTimeout(r, 300));
    const before = await rssKiB(srv.pid);
    for (const len of [64 * 1024 + 1, 0xffffffff]) {
      for (let i = 0; i < 20; i++) {
        const r = await Raw.open(srv);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, len);
        await r.write(b);
        const f = await r.until((f) => f.header.code === "frame_too_large");
        assert.ok(f, "error frame");
        assert.ok(await r.closedWithin(2000), "server closed the connection");
        r.close();
      }
    }
    const grown = (await rssKiB(srv.pid)) - before;
    // 40 prefixes claiming 64 KiB to 4 GiB each: allocating even one would show here.
    assert.ok(grown < 32 * 1024, `the server's resident memory grew ${grown} KiB`);
  } finally {
    srv.child.kill("SIGTERM");
    await srv.child.status;
    await srv.errText;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("item 2: zero, split and truncated prefixes; a truncated frame then EOF frees the session", async () => {
  const t = await startTestServer();
  try {
    const zero = await Raw.open(t);
    await zero.write(new Uint8Array([0, 0, 0, 0]));
    assert.ok(await zero.until((f) => f.header.code === "bad_frame"));
    zero.close();
    const protocolLines = () => t.lines.filter((l) => l.includes("conn.protocol"));
    await eventually(() => protocolLines().length === 1, 3000, "the zero prefix logged");
    // a prefix split byte by byte with pauses still decodes
    const split = await Raw.open(t);
    const hello = encodeFrame({ t: "hello", id: 7, v: 1, client: "slow" });
    for (let i = 0; i < hello.length; i++) {
      await split.write(hello.subarray(i, i + 1));
      if (i < 4) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(await split.until((f) => f.header.id === 7 && f.header.t === "ok"));
    split.close();
    // truncated frame then EOF
    const trunc = await Raw.open(t);
    await trunc.write(encodeFrame({ t: "hello", id: 1, v: 1, client: "x" }).subarray(0, 12));
    await trunc.c.closeWrite();
    assert.ok(await trunc.closedWithin(2000), "the server ends a truncated frame at EOF");
    trunc.close();
    await eventually(() => t.srv.hub.sessions.size === 0, 3000, "sessions freed");
    // The truncated frame is its own protocol error (a second line), not the zero prefix's again.
    await eventually(() => protocolLines().length === 2, 3000, "the truncated frame logged");
  } finally {
    await t.stop();
  }
});

Deno.test("item 3: invalid JSON, deep nesting, huge numbers, __proto__, unknown kinds and versions are rejected", async () => {
  const t = await startTestServer();
  try {
    const headerFrame = (json: string) => {
      const h = utf8.encode(json);
      const b = new Uint8Array(8 + h.length);
      new DataView(b.buffer).setUint32(0, 4 + h.length);
      new DataView(b.buffer).setUint32(4, h.length);
      b.set(h, 8);
      return b;
    };
    for (
      const [json, code] of [
        ["{nope", "bad_json"],
        [`{"t":"hello","id":1,"x":${"[".repeat(50)}${"]".repeat(50)}}`, "too_deep"],
        ['{"t":"hello","id":1,"__proto__":{"role":"admin"}}', "forbidden_key"],
      ]
    ) {
      const r = await Raw.open(t);
      await r.write(headerFrame(json!));
      assert.ok(await r.until((f) => f.header.code === code), code);
      assert.ok(await r.closedWithin(1000), `${code} closes the connection`);
      r.close();
    }
    const r = await Raw.open(t);
    await r.write(headerFrame('{"t":"hello","id":1e400,"v":1,"client":"x"}'));
    assert.ok(await r.until((f) => f.header.code === "invalid"));
    await r.send({ t: "hello", id: 2, v: 99, client: "x" });
    assert.ok(await r.until((f) => f.header.id === 2 && f.header.code === "bad_version"));
    await r.send({ t: "launch.missiles", id: 3 });
    assert.ok(await r.until((f) => f.header.id === 3 && f.header.code === "unknown_kind"));
    await r.send({ t: "hello", id: 4, v: 1, client: "x", extra: 1 });
    assert.ok(await r.until((f) => f.header.id === 4 && f.header.code === "invalid"));
    await r.send({ t: "hello", id: 5, v: 1, client: "x" });
    assert.ok(
      await r.until((f) => f.header.id === 5 && f.header.t === "ok"),
      "the connection survives schema errors",
    );
    r.close();
  } finally {
    await t.stop();
  }
});

Deno.test("item 4: any command before hello or login is refused", async () => {
  const t = await startTestServer();
  try {
    const r = await Raw.open(t);
    await r.send({ t: "login", id: 1, user: "a", password: "password1" });
    assert.ok(await r.until((f) => f.header.id === 1 && f.header.code === "hello_first"));
    await r.send({ t: "hello", id: 2, v: 1, client: "x" });
    for (
      const [i, h] of [{ t: "who" }, { t: "send", to: { kind: "broadcast" }, mid: "abcdefgh" }, {
        t: "admin.kick",
        user: "x",
      }].entries()
    ) {
      await r.send({ ...h, id: 10 + i });
      assert.ok(await r.until((f) => f.header.id === 10 + i && f.header.code === "not_authenticated"), h.t);
    }
    r.close();
  } finally {
    await t.stop();
  }
});

Deno.test("item 6: a slowloris client is dropped at the login deadline", async () => {
  const t = await startTestServer({ loginTimeoutMs: 400 });
  try {
    const r = await Raw.open(t);
    const hello = encodeFrame({ t: "hello", id: 1, v: 1, client: "x" });
    const dripping = (async () => {
      for (let i = 0; i < hello.length && !r.closed; i++) {
        await r.write(hello.subarray(i, i + 1)).catch(() => {});
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const bye = await r.until(isBye("timeout"), 3000);
    assert.equal(bye?.header.reason, "Login took too long");
    r.close();
    await dripping;
  } finally {
    await t.stop();
  }
});

Deno.test("item 7: an idle client is pinged, then dropped when it does not answer", async () => {
  const t = await startTestServer({ pingIntervalMs: 200, pingTimeoutMs: 200 });
  try {
    const r = await Raw.open(t);
    await r.login("idle");
    assert.ok(await r.until((f) => f.header.t === "ping", 3000), "pinged");
    const bye = await r.until(isBye("timeout"), 3000);
    assert.equal(bye?.header.reason, "No answer to ping");
    r.close();
    // a client that answers stays
    const c = await t.client("lively");
    // A count, not a wait: three pings answered span more than a ping's timeout each.
    const note = c.conn.note.bind(c.conn);
    let pongs = 0;
    c.conn.note = (h) => (h.t === "pong" && pongs++, note(h));
    await eventually(() => pongs >= 3 || c.conn.closed || null, 5000, "three pings answered");
    assert.equal(c.conn.closed, false);
  } finally {
    await t.stop();
  }
});

Deno.test("item 7: a client that never reads is dropped at its queue bound; the sender is not slowed", async () => {
  const t = await startTestServer({ maxQueueBytes: 256 * 1024 });
  try {
    const r = await Raw.open(t);
    await r.login("sloth");
    await r.send({ t: "sync", id: 3 });
    const alice = await t.client("alice");
    const body = "x".repeat(16 * 1024);
    const start = Date.now();
    let sent = 0;
    for (let i = 0; i < 2000 && !t.lines.some((l) => l.includes("drop.slow")); i++) {
      await alice.send({ kind: "user", name: "sloth" }, body);
      sent++;
    }
    assert.ok(t.lines.some((l) => l.includes("WARN drop.slow user=sloth")), `dropped after ${sent} messages`);
    assert.ok(Date.now() - start < 20_000);
    await alice.send({ kind: "broadcast" }, "still fine");
    r.close();
  } finally {
    await t.stop();
  }
});

Deno.test("item 8: connection flood and message flood from one address are capped with a clear error", async () => {
  const t = await startTestServer({ maxConnsPerAddr: 5, msgRate: 10, msgBurst: 20 });
  try {
    const rs = await Promise.all(Array.from({ length: 5 }, () => Raw.open(t)));
    const extra = await Raw.open(t);
    const bye = await extra.until(isBye("too_many_connections"), 3000);
    assert.equal(bye?.header.reason, "Too many connections; try again later");
    for (const r of [...rs, extra]) r.close();
    await eventually(() => t.srv.hub.sessions.size === 0, 3000);
    const alice = await t.client("alice");
    const results = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => alice.send({ kind: "broadcast" }, `f${i}`).then(() => "ok", (e) => e.message),
      ),
    );
    assert.ok(results.filter((x) => x === "ok").length <= 22);
    assert.ok(results.includes("You are sending too fast; slow down"));
  } finally {
    await t.stop();
  }
});
