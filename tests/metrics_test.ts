/**
 * `--metrics` (issue 38 item 2): after a scripted session, /metrics, read with a real parser of the
 * Prometheus text format (npm parse-prometheus-text-format), counts what the session did; /healthz
 * answers 200 while the store answers and 503 once it does not (or the bus does not). Also the
 * spawned server.ts with `--metrics 127.0.0.1:0`: the listener, the descriptor gauges, loopback.
 */
import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { Metrics } from "../lib/server/metrics.ts";
import { parseListenAddress, serveMetricsHttp } from "../lib/net/http_metrics.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { eventually, rootFile, startTestServer, testKdf } from "./helpers.ts";

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; count?: string; sum?: string }[];
}

async function scrape(port: number): Promise<Map<string, Family>> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const fams = parsePrometheus(await r.text()) as Family[];
  return new Map(fams.map((f) => [f.name, f]));
}

/** The value of one sample: the family's only one, or the one with these labels. */
function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = m.get(name);
  assert.ok(f, `${name} is exposed`);
  const want = Object.entries(labels);
  const s = f.metrics.find((x) => want.every(([k, v]) => x.labels?.[k] === v));
  assert.ok(s, `${name}${JSON.stringify(labels)} has a sample`);
  return Number(s.value ?? s.count);
}

async function health(port: number): Promise<[number, string]> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return [r.status, (await r.text()).trim()];
}

function wire(metrics: Metrics) {
  return serveMetricsHttp({
    host: "127.0.0.1",
    port: 0,
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    health: async () => {
      const h = await metrics.health();
      return {
        ok: h.ok,
        text: `${h.ok ? "ok" : "unhealthy"} store=${h.store}${h.bus ? ` bus=${h.bus}` : ""}`,
      };
    },
  });
}

Deno.test("metrics: a scrape after a scripted session counts its logins, messages and bytes", async () => {
  const metrics = new Metrics();
  const t = await startTestServer({}, { metrics });
  metrics.probe = () => t.srv.snapshot();
  metrics.checks = { store: async () => void await t.srv.deps.store.lastSeq() };
  const http = wire(metrics);
  let stopped = false;
  try {
    assert.deepEqual(await health(http.port), [200, "ok store=ok"]);
    const alice = await t.client("alice");
    const bob = await t.client("bob");
    await bob.sync();
    const got: string[] = [];
    bob.on((e) => void (e.type === "message" && got.push(e.message.text)));
    for (let i = 0; i < 5; i++) await alice.send({ kind: "user", name: "bob" }, `message ${i}`);
    await eventually(() => got.length === 5, 5000, "five live deliveries");
    await assert.rejects(t.client("bob", { register: false, password: "wrong-password" }));
    const again = await t.client("alice", { register: false });

    const m = await scrape(http.port);
    assert.equal(value(m, "parley_logins_total", { via: "register", result: "ok" }), 2);
    assert.equal(value(m, "parley_logins_total", { via: "login", result: "ok" }), 1);
    assert.equal(value(m, "parley_logins_total", { via: "login", result: "failed" }), 1);
    assert.equal(value(m, "parley_logins_total", { via: "register", result: "failed" }), 0);
    assert.equal(value(m, "parley_messages_stored_total"), 5);
    const rows = await t.srv.deps.store.pending("bob", 0, 100);
    assert.equal(rows.length, 5);
    const bodies = rows.reduce((n, r) => n + r.body.length, 0);
    assert.equal(value(m, "parley_message_bytes_stored_total"), bodies);
    assert.equal(value(m, "parley_messages_delivered_total"), 5);
    assert.ok(value(m, "parley_message_bytes_delivered_total") > bodies, "frames carry headers too");
    const commits = value(m, "parley_commit_seconds");
    assert.ok(commits >= 1 && commits <= 5, `${commits} group commits for 5 messages`);
    assert.equal(m.get("parley_commit_seconds")!.type, "HISTOGRAM");
    assert.equal(value(m, "parley_connections_total"), 4);
    assert.equal(value(m, "parley_connections"), 4); // the failed login's connection is still open
    assert.equal(value(m, "parley_sessions_logged_in"), 3);
    assert.equal(value(m, "parley_drops_total", { reason: "slow" }), 0);
    assert.equal(value(m, "parley_files"), 0);
    assert.equal(value(m, "parley_video_viewers"), 0);
    assert.ok(value(m, "parley_outbox_bytes") >= 0);
    assert.ok(!m.has("parley_bus_up") && !m.has("parley_cluster_nodes"), "no bus on a single node");
    assert.ok(!m.has("parley_fds_open"), "descriptors not known in process");
    await again.close();

    await t.stop();
    stopped = true;
    const [code, text] = await health(http.port);
    assert.equal(code, 503);
    assert.match(text, /^unhealthy store=/);
  } finally {
    if (!stopped) await t.stop();
    await http.close();
  }
});

Deno.test("metrics: /healthz is 503 while the bus does not answer, 200 once it does", async () => {
  const metrics = new Metrics({ cluster: true });
  let busUp = false;
  metrics.checks = {
    store: () => Promise.resolve(),
    bus: () => busUp ? Promise.resolve() : Promise.reject(new Error("not connected")),
  };
  const http = wire(metrics);
  try {
    assert.deepEqual(await health(http.port), [503, "unhealthy store=ok bus=not connected"]);
    assert.equal(value(await scrape(http.port), "parley_bus_up"), 0);
    busUp = true;
    assert.deepEqual(await health(http.port), [200, "ok store=ok bus=ok"]);
    assert.equal(value(await scrape(http.port), "parley_bus_up"), 1);
    const r = await fetch(`http://127.0.0.1:${http.port}/other`);
    assert.equal(r.status, 404);
    await r.body?.cancel();
  } finally {
    await http.close();
  }
});

Deno.test("metrics: --metrics takes HOST:PORT, a bare PORT is loopback", () => {
  assert.deepEqual(parseListenAddress("9798"), { host: "127.0.0.1", port: 9798 });
  assert.deepEqual(parseListenAddress(":9798"), { host: "127.0.0.1", port: 9798 });
  assert.deepEqual(parseListenAddress("0.0.0.0:9798"), { host: "0.0.0.0", port: 9798 });
  assert.deepEqual(parseListenAddress("[::1]:9798"), { host: "::1", port: 9798 });
  assert.throws(() => parseListenAddress("localhost"), /--metrics takes HOST:PORT/);
  assert.throws(() => parseListenAddress("h:99999"), /--metrics takes HOST:PORT/);
});

Deno.test("metrics: the spawned server.ts serves them with --metrics, with its descriptors and limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-metrics-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys=statfs",
      rootFile("server.ts"),
      ...["--port", "0", "--data", dir, "--videos", `${dir}/none`, "--metrics", "127.0.0.1:0"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  try {
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const deadline = Date.now() + 30_000;
    while (!/Parley listening on .*:(\d+) /.test(out)) {
      const r = await reader.read();
      if (r.done || Date.now() > deadline) throw new Error(`server did not start: ${out}`);
      out += r.value;
    }
    reader.releaseLock();
    const mport = Number(out.match(/Metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/)![1]);
    const port = Number(out.match(/Parley listening on .*:(\d+) /)![1]);
    assert.deepEqual(await health(mport), [200, "ok store=ok"]);
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const conn = await Connection.open({ host: "127.0.0.1", port, caPem: cert });
    const c = await ChatClient.login({
      conn,
      server: `127.0.0.1:${port}`,
      user: "carol",
      password: "pw-carol-secret",
      register: true,
      kdf: testKdf,
    });
    const m = await scrape(mport);
    assert.equal(value(m, "parley_logins_total", { via: "register", result: "ok" }), 1);
    assert.equal(value(m, "parley_connections"), 1);
    if (Deno.build.os === "linux") {
      assert.ok(value(m, "parley_fds_open") > 3);
      assert.ok(value(m, "parley_fds_limit") >= value(m, "parley_fds_open"));
    }
    await c.close();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
