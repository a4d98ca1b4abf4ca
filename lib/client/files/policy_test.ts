/**
 * Issue 33 point 6: which offers an unattended `receive` takes, and by which path; sizes typed by users.
 */
import assert from "node:assert/strict";
import { DEFAULT_MAX_SIZE, judgeOffer } from "./policy.ts";
import { parseSize } from "../../common/progress.ts";

const offer = (from = "mallory", size = 10, resumed = false) => ({ from, name: "x", size, resumed });
const rules = (o: { from?: string; anyone?: boolean; maxSize?: number } = {}) => ({
  anyone: false,
  maxSize: DEFAULT_MAX_SIZE,
  ...o,
});

Deno.test("judgeOffer(): by default only verified contacts, who may use the direct path", () => {
  assert.deepEqual(judgeOffer(rules(), offer(), true, null), { take: true, direct: true });
  const v = judgeOffer(rules(), offer(), false, null);
  assert.equal(v.take, false);
  assert.match(!v.take ? v.why : "", /mallory is not a verified contact.*--from mallory/);
});

Deno.test("judgeOffer(): --from names one sender (direct allowed); --from-anyone takes others through the relay only", () => {
  assert.deepEqual(judgeOffer(rules({ from: "mallory" }), offer(), false, null), {
    take: true,
    direct: true,
  });
  assert.equal(judgeOffer(rules({ from: "alice" }), offer(), true, null).take, false);
  assert.deepEqual(judgeOffer(rules({ anyone: true }), offer(), false, null), { take: true, direct: false });
  assert.deepEqual(judgeOffer(rules({ anyone: true }), offer(), true, null), { take: true, direct: true });
  // A transfer accepted before goes on (through the relay when its sender is not verified).
  assert.deepEqual(judgeOffer(rules(), offer("mallory", 10, true), false, null), {
    take: true,
    direct: false,
  });
});

Deno.test("judgeOffer(): a size cap (default 4 GiB) and the free space of the download folder", () => {
  assert.equal(DEFAULT_MAX_SIZE, 4 * 2 ** 30);
  assert.equal(judgeOffer(rules(), offer("a", DEFAULT_MAX_SIZE), true, null).take, true);
  const big = judgeOffer(rules(), offer("a", DEFAULT_MAX_SIZE + 1), true, null);
  assert.match(!big.take ? big.why : "", /over the size limit \(4\.0 GiB\)/);
  const tb = judgeOffer(rules({ anyone: true }), offer("a", 2 ** 40 - 2 ** 30), false, null);
  assert.equal(tb.take, false, "a 1 TiB offer from anyone is not taken");
  const full = judgeOffer(rules(), offer("a", 2048), true, 1024);
  assert.match(!full.take ? full.why : "", /2\.0 KiB does not fit: 1\.0 KiB free/);
  assert.equal(judgeOffer(rules(), offer("a", 1024), true, 1024).take, true);
});

Deno.test("parseSize(): bytes, K/M/G/T in powers of 1024, GiB/GB/g alike; junk is null", () => {
  assert.equal(parseSize("1234"), 1234);
  assert.equal(parseSize("1K"), 1024);
  assert.equal(parseSize("500M"), 500 * 2 ** 20);
  assert.equal(parseSize("4G"), 4 * 2 ** 30);
  assert.equal(parseSize("4GiB"), 4 * 2 ** 30);
  assert.equal(parseSize("4 gb"), 4 * 2 ** 30);
  assert.equal(parseSize("1.5K"), 1536);
  assert.equal(parseSize("2T"), 2 * 2 ** 40);
  for (const bad of ["", "G", "-1", "1X", "1e3", "4 GiBs"]) assert.equal(parseSize(bad), null, bad);
});
