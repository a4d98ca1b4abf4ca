import assert from "node:assert/strict";
import { denoSharedMemory } from "./terminal.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "denoSharedMemory() puts new owner-only objects under /dev/shm and drops only its own",
  ignore: !linux,
  fn: () => {
    const shm = denoSharedMemory()!;
    const a = shm.put(new Uint8Array([1, 2, 3]))!, b = shm.put(new Uint8Array([4]))!;
    try {
      assert.match(a, /^tty-graphics-protocol-parley-\d+-[0-9a-f]{12}-0$/);
      assert.notEqual(a, b, "a new name each time");
      assert.deepEqual([...Deno.readFileSync(`/dev/shm/${a}`)], [1, 2, 3]);
      assert.equal(Deno.statSync(`/dev/shm/${a}`).mode! & 0o777, 0o600);
      shm.drop(a);
      assert.throws(() => Deno.statSync(`/dev/shm/${a}`), Deno.errors.NotFound);
      shm.drop(a); // already gone (the terminal read it): nothing happens
      const other = denoSharedMemory()!;
      other.drop(b); // another sender's object is not its to drop
      assert.ok(Deno.statSync(`/dev/shm/${b}`).isFile);
      other.drop("../../tmp/x");
    } finally {
      shm.drop(a);
      shm.drop(b);
    }
  },
});
