import assert from "node:assert/strict";
import { denoTempFiles } from "./terminal.ts";

Deno.test({
  name: "denoTempFiles() puts new owner-only files under /tmp, named for kitty, and deletes only its own",
  ignore: Deno.build.os !== "linux" && Deno.build.os !== "darwin",
  fn: () => {
    const files = denoTempFiles()!;
    const a = files.put(new Uint8Array([1, 2, 3]))!, b = files.put(new Uint8Array([4]))!;
    try {
      assert.match(a, /^\/tmp\/tty-graphics-protocol-parley-\d+-[0-9a-f]{12}-0$/);
      assert.notEqual(a, b, "a new path each time");
      assert.deepEqual([...Deno.readFileSync(a)], [1, 2, 3]);
      assert.equal(Deno.statSync(a).mode! & 0o777, 0o600);
      files.drop(a);
      assert.throws(() => Deno.statSync(a), Deno.errors.NotFound);
      files.drop(a); // already gone (the terminal read it): nothing happens
      denoTempFiles()!.drop(b); // another port's file is not its to delete
      assert.ok(Deno.statSync(b).isFile);
      files.drop(b + "/../x");
      assert.ok(Deno.statSync(b).isFile);
    } finally {
      files.drop(a);
      files.drop(b);
    }
  },
});
