import assert from "node:assert/strict";
import { hashPasswordInline, PasswordHasher, verifyPasswordInline } from "./password.ts";
import { brokenWorkerUrl } from "../common/worker_testing.ts";

Deno.test("hashPasswordInline() produces an argon2id PHC string at OWASP parameters", async () => {
  const h = await hashPasswordInline("correct horse", new Uint8Array(16));
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPasswordInline("correct horse", h), true);
  assert.equal(await verifyPasswordInline("wrong", h), false);
  assert.equal(await verifyPasswordInline("x", "not a hash"), false);
});

Deno.test("PasswordHasher hashes and verifies with its argon2id worker", async () => {
  const ph = new PasswordHasher({ workers: 2 });
  try {
    const [a, b] = await Promise.all([ph.hash("pw-one-1"), ph.hash("pw-two-2")]);
    assert.notEqual(a, b);
    assert.equal(await verifyPasswordInline("pw-one-1", a), true);
    assert.deepEqual(await Promise.all([ph.verify("pw-one-1", a), ph.verify("pw-one-1", b)]), [true, false]);
    assert.equal(ph.stats.onWorkers, 4, "every job ran on a worker");
    assert.equal(ph.stats.inline, 0, "none in the calling thread");
    assert.equal(ph.stats.maxParallel, 2, "two at once, one per worker");
  } finally {
    ph.close();
  }
});

/**
 * A stand-in worker module: it answers a job only after another worker has also received one (they
 * meet on a BroadcastChannel), and answers with its own id. Two jobs finish only if they run on two
 * workers at the same time; on one worker, in turn, or on the main thread they never finish.
 */
const RENDEZVOUS_WORKER = `data:application/javascript,${
  encodeURIComponent(`
const me = crypto.randomUUID();
const bc = new BroadcastChannel("parley-password-rendezvous");
const peers = new Set();
let jobs = [];
const flush = () => {
  if (peers.size === 0) return;
  for (const j of jobs) self.postMessage({ id: j.id, ok: true, value: j.op === "hash" ? "worker:" + me : true });
  jobs = [];
};
bc.onmessage = (e) => {
  if (!peers.has(e.data)) {
    peers.add(e.data);
    if (jobs.length > 0) bc.postMessage(me);
  }
  flush();
};
self.onmessage = (e) => {
  jobs.push(e.data);
  bc.postMessage(me);
  flush();
};
`)
}`;

Deno.test("PasswordHasher runs jobs on its workers, two at a time", async () => {
  const ph = new PasswordHasher({ workers: 2, workerUrl: RENDEZVOUS_WORKER });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const both = Promise.all([ph.hash("pw-one-1"), ph.hash("pw-two-2")]);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the two jobs did not run on two workers at once")), 10_000);
    });
    const [a, b] = await Promise.race([both, deadline]);
    assert.match(a, /^worker:/);
    assert.match(b, /^worker:/);
    assert.notEqual(a, b, "both jobs answered by the same worker");
  } finally {
    clearTimeout(timer);
    ph.close();
  }
});

Deno.test("PasswordHasher refuses work past its queue bound", async () => {
  const ph = new PasswordHasher({ workers: 1, maxQueue: 1 });
  try {
    const first = ph.hash("a-password"); // taken by the worker
    const second = ph.hash("b-password"); // queued
    await assert.rejects(ph.hash("c-password"), /queue is full/);
    await Promise.all([first, second]);
  } finally {
    ph.close();
  }
});

Deno.test("PasswordHasher falls back to in-thread hashing when its worker module is missing", async () => {
  // A module that fails to load, as a missing password_worker.ts does beside a single-file bundle.
  const broken = brokenWorkerUrl("PasswordHasher hashes in-thread");
  const ph = new PasswordHasher({ workers: 1, workerUrl: broken });
  try {
    const [a, b] = await Promise.all([ph.hash("pw-one-1"), ph.hash("pw-two-2")]);
    assert.match(a, /^\$argon2id\$/);
    assert.deepEqual(await Promise.all([ph.verify("pw-one-1", a), ph.verify("pw-one-1", b)]), [true, false]);
  } finally {
    ph.close();
  }
});

/** A stand-in worker that takes a few milliseconds per job and answers "hashed". */
const SLOW_WORKER = `data:application/javascript,${
  encodeURIComponent(`
self.onmessage = (e) => setTimeout(() => self.postMessage({ id: e.data.id, ok: true, value: e.data.op === "hash" ? "hashed" : true }), 5);
`)
}`;

Deno.test("PasswordHasher: 20 jobs at once run at most two at a time on at most two live workers, each replaced after two jobs", async () => {
  const ph = new PasswordHasher({ workers: 2, recycleAfter: 2, workerUrl: SLOW_WORKER });
  try {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => ph.hash(`password-${i}`)));
    assert.deepEqual(all, Array(20).fill("hashed"));
    assert.equal(ph.stats.onWorkers, 20);
    assert.equal(ph.stats.maxParallel, 2, "never more jobs running than workers");
    assert.equal(ph.stats.maxAlive, 2, "never more workers alive than the pool size");
    // 20 jobs over two slots: each slot replaces its worker after every second job, ≥ 9 times in all.
    assert.ok(ph.stats.spawned >= 2 + 9, `each worker replaced after every second job (${ph.stats.spawned})`);
    assert.equal(ph.load, 0);
  } finally {
    ph.close();
  }
});
