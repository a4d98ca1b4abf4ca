/**
 * The bench's ratio rows (tests/bench/peers.ts `ratioRows`) divide the rows they name: Parley's
 * A-paced p99, not a reference server's whose name also starts with "A-paced", whatever the rows'
 * order; the floors beside redis-tls-always and Parley's C beside a token login alone.
 */
import assert from "node:assert/strict";
import { ratioRows } from "./bench/peers.ts";
import type { Row } from "./bench/proc.ts";

const row = (name: string, value: number): Row => ({ name, value, unit: "ms" });
const PARLEY = row("A-paced 600 msgs at 200/s: latency p99", 6);
const RELAY = row(
  "A-paced reference: a relay with no chat code on Parley's transport, 600 msgs at 200/s: latency p99",
  2,
);
const DURABLE = row(
  "A-paced reference: a relay that fdatasyncs each message first on Parley's transport, 600 msgs at 200/s: latency p99",
  3,
);
const DENO = row(
  "A-paced reference: a relay that fdatasyncs each message first on Deno's own TLS, 600 msgs at 200/s: latency p99",
  30,
);
const REDIS = row("ref redis-tls-always: A-paced 600 msgs at 200/s: latency p99", 4);

const value = (rows: Row[], name: string) => rows.find((r) => r.name === name)?.value;

Deno.test("ratio rows: Parley's A-paced p99 over redis-tls-always's, whatever comes first", () => {
  for (const rows of [[PARLEY, RELAY, DURABLE, DENO, REDIS], [RELAY, DURABLE, DENO, REDIS, PARLEY]]) {
    const out = ratioRows(rows);
    assert.equal(value(out, "Parley / reference: A-paced latency p99 (vs redis-tls-always)"), 1.5);
    assert.equal(value(out, "Durable relay / reference: A-paced latency p99 (vs redis-tls-always)"), 0.75);
    assert.equal(
      value(out, "Durable relay on Deno's TLS / reference: A-paced latency p99 (vs redis-tls-always)"),
      7.5,
    );
  }
  // No Parley row: no Parley ratio (a reference's row is not taken for it).
  assert.equal(
    value(ratioRows([RELAY, REDIS]), "Parley / reference: A-paced latency p99 (vs redis-tls-always)"),
    undefined,
  );
});

Deno.test("ratio rows: Parley's C CPU over a token login alone's", () => {
  const out = ratioRows([
    row("C 2000 idle: server CPU per connection (connect + login), cold", 450),
    row(
      "C reference: a token login and nothing else on Parley's transport, server CPU per connection, cold",
      375,
    ),
  ]);
  assert.equal(value(out, "Parley / a token login alone: C server CPU per connection"), 1.2);
});
