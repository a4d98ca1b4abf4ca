import assert from "node:assert/strict";
import { versionNotice } from "./version.ts";

Deno.test("versionNotice: nothing when major.minor match, one sentence either way when they differ", () => {
  assert.equal(versionNotice("0.2.0", "0.2.0"), null);
  assert.equal(versionNotice("0.2.0", "0.2.7"), null);
  assert.equal(versionNotice("0.2.1-rc.1", "0.2.0"), null);
  assert.equal(
    versionNotice("0.2.0", "0.3.0"),
    "The server runs Parley 0.3.0, newer than this client (0.2.0): upgrade the client",
  );
  assert.equal(versionNotice("0.2.0", "1.0.0")?.includes("newer than this client"), true);
  assert.match(
    versionNotice("0.2.0", "0.1.9")!,
    /^The server runs Parley 0\.1\.9, older than this client \(0\.2\.0\)/,
  );
  assert.match(versionNotice("0.2.0", undefined)!, /older Parley \(before 0\.2\.0\)/);
  // A hostile version string is cut down to version characters.
  assert.equal(versionNotice("0.2.0", "\x1b[2J9.9.9")?.includes("\x1b"), false);
});
