/**
 * lib/server/disk_space.ts (issue 68 item 5): the bytes granted between two probes count against the
 * floor, so a burst of sends within the second a probe is reused cannot take the disk below it.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { DiskSpace } from "./disk_space.ts";

const MiB = 1048576;

Deno.test("disk space: many sends within one second cannot go past the floor", () => {
  const clock = new ManualClock();
  let probes = 0;
  const disk = new DiskSpace(() => (probes++, 8_600_000), 5 * MiB, clock); // 8.6 MB free, floor 5 MiB
  let granted = 0;
  for (let i = 0; i < 1000; i++) {
    clock.advance(0.5); // 1,000 sends of 64 KiB within half a second
    if (disk.refusal("/data", 65536) === null) granted += 65536;
  }
  assert.equal(probes, 1, "one probe for the whole burst");
  assert.ok(8_600_000 - granted >= 5 * MiB, `granted ${granted} bytes: past the floor`);
  assert.ok(8_600_000 - granted < 5 * MiB + 65536, `granted ${granted} bytes: stopped early`);
  assert.equal(disk.free("/data"), 8_600_000 - granted);
});

Deno.test("disk space: a new probe starts the count of granted bytes again", () => {
  const clock = new ManualClock();
  let free = 6 * MiB;
  const disk = new DiskSpace(() => free, 5 * MiB, clock);
  assert.equal(disk.refusal("/data", MiB), null);
  assert.equal(disk.refusal("/data", 1)?.code, "disk_full", "the granted MiB is reserved");
  assert.equal(disk.refusal("/files", MiB), null, "each folder counts its own");
  clock.advance(1000);
  free = 6 * MiB; // the disk got space back (say, files fetched)
  assert.equal(disk.refusal("/data", MiB), null);
  assert.equal(disk.refusal("/data", 0), null, "a check of nothing reserves nothing");
  free = 0; // not asked again within the second
  assert.equal(disk.free("/data"), 5 * MiB);
});

Deno.test("disk space: no floor, or an unknown probe, never refuses nor counts", () => {
  const clock = new ManualClock();
  assert.equal(new DiskSpace(() => 0, 0, clock).refusal("/d", MiB), null);
  const unknown = new DiskSpace(() => null, 5 * MiB, clock);
  for (let i = 0; i < 10; i++) assert.equal(unknown.refusal("/d", 100 * MiB), null);
  assert.equal(unknown.free("/d"), null);
});
