import assert from "node:assert/strict";
import { SeekTarget } from "./seek_target.ts";

Deno.test("SeekTarget stands until a frame near it is drawn, or for a while without one", () => {
  let now = 0;
  const t = new SeekTarget(() => now);
  assert.equal(t.position(1200), 1200, "no seek: the last drawn frame");
  assert.equal(t.set(-3000), 0);
  assert.equal(t.set(99_000, 20_000), 20_000, "clamped to the length");
  t.set(6000);
  t.drawn(1240); // a frame from before the seek, still in flight
  assert.equal(t.position(1240), 6000);
  t.drawn(6040);
  assert.equal(t.position(6040), 6040, "arrived");
  t.set(30_000);
  now += 3001; // none came (the server clamped it)
  assert.equal(t.position(6080), 6080);
});
