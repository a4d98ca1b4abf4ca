/**
 * Rotating the cluster key without an outage (issue 69 S3): a key file's lines (bus/seal.ts
 * `parseClusterKeys`; the first seals, the others are also opened). At every step of the rolling
 * rotation — the new key added as a second line on each node in turn, then made the first on each,
 * then the old line dropped on each — every two nodes of the cluster open each other's envelopes and
 * sidecars (file_meta.ts); once the old key is gone, what was sealed under it alone is refused.
 */
import assert from "node:assert/strict";
import { BusSeal, parseClusterKey, parseClusterKeys } from "./seal.ts";
import { createMeta, loadMeta, type SidecarKey, sidecarKey } from "../file_meta.ts";

const hex = (b: number) => b.toString(16).padStart(2, "0").repeat(32);
const OLD = hex(0x11), NEW = hex(0x22);
const EVENT = { t: "user" as const, user: "alice" };

/** A node's seal from its key file's text. */
const node = (text: string) => {
  const [key, ...accept] = parseClusterKeys(text);
  return new BusSeal({ key: key!, accept }, "rotation");
};

/** The four key files a node passes through. */
const STEPS = [`${OLD}\n`, `${OLD}\n${NEW}\n`, `${NEW}\n${OLD}\n`, `${NEW}\n`];

Deno.test("cluster key rotation: at every step of a rolling rotation every two nodes open each other's envelopes", () => {
  // A rolling restart mixes a node at step i with one at step i + 1.
  for (let i = 0; i + 1 < STEPS.length; i++) {
    const pairs: [string, string][] = [[STEPS[i]!, STEPS[i + 1]!], [STEPS[i + 1]!, STEPS[i]!], [
      STEPS[i]!,
      STEPS[i]!,
    ]];
    for (const [a, b] of pairs) {
      const from = node(a), to = node(b);
      const got = to.open(from.seal("n1", EVENT));
      assert.deepEqual(got?.e, EVENT, `a node at ${JSON.stringify(a)} → one at ${JSON.stringify(b)}`);
    }
  }
  // Once the old key is dropped, an envelope sealed under it alone is refused.
  assert.equal(node(STEPS[3]!).open(node(STEPS[0]!).seal("n1", EVENT)), null);
  assert.equal(node(STEPS[0]!).open(node(STEPS[3]!).seal("n1", EVENT)), null);
});

Deno.test("cluster key rotation: sidecars sealed under the old key verify during the rotation, not after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-rotate-" });
  try {
    const keysOf = async (text: string): Promise<SidecarKey> => {
      const ks = await Promise.all(parseClusterKeys(text).map((k) => sidecarKey(k)));
      return ks.length === 1 ? ks[0]! : ks;
    };
    const meta = { fid: "f0000001", state: "ready" as const, to: "bob" };
    await createMeta(dir, meta, await keysOf(STEPS[0]!)); // written before the rotation
    for (const step of STEPS.slice(1, 3)) {
      assert.equal((await loadMeta<typeof meta>(dir, meta.fid, await keysOf(step)))?.to, "bob", step);
    }
    assert.equal(await loadMeta(dir, meta.fid, await keysOf(STEPS[3]!)), null, "the old key dropped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster key files: lines of 64 hex digits, blank and # lines ignored; the first seals", () => {
  const keys = parseClusterKeys(`# rotation, step 2\n${NEW}\n\n${OLD.toUpperCase()}\n`);
  assert.equal(keys.length, 2);
  assert.deepEqual(parseClusterKey(`${NEW}\n${OLD}\n`), keys[0]);
  for (const bad of ["", "# only a comment\n", `${NEW}\nnot-hex\n`, `${NEW.slice(2)}\n`]) {
    assert.throws(
      () => parseClusterKeys(bad),
      /a cluster key file holds lines of 64 hex digits/,
      JSON.stringify(bad),
    );
  }
});
