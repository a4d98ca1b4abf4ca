import assert from "node:assert/strict";
import { callerFolder, followCaller } from "./task_cwd.ts";

Deno.test("callerFolder: deno task's INIT_CWD is followed only when started in the program's folder", () => {
  assert.equal(callerFolder("/home/u/docs", "/src/parley", "/src/parley/"), "/home/u/docs");
  assert.equal(callerFolder(undefined, "/src/parley", "/src/parley"), null);
  // A bundle run in its own folder (no deno.json there) keeps its folder (tests/bundle_test.ts under deno task).
  assert.equal(callerFolder("/src/parley", "/tmp/bundle", "/tmp/bundle/", false), null);
  assert.equal(callerFolder("/src/parley/", "/src/parley", "/src/parley"), null);
  // Started elsewhere (an installed shim, a child with an inherited INIT_CWD): stay.
  assert.equal(callerFolder("/src/parley", "/tmp/x", "/src/parley"), null);
});

Deno.test("followCaller: a probe refused by a permission means stay; otherwise it is callerFolder", () => {
  const denied = () => {
    throw new Deno.errors.NotCapable('Requires env access to "INIT_CWD"');
  };
  const probe = {
    initCwd: () => "/home/u",
    cwd: () => "/src/p",
    programDir: "/src/p/",
    hasConfig: () => true,
  };
  assert.equal(followCaller(probe), "/home/u");
  assert.equal(followCaller({ ...probe, initCwd: denied }), null);
  assert.equal(followCaller({ ...probe, cwd: denied }), null);
  assert.equal(followCaller({ ...probe, hasConfig: denied }), null);
  assert.equal(followCaller({ ...probe, initCwd: () => undefined, cwd: denied }), null);
});
