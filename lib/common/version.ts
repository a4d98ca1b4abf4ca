/**
 * The Parley version: one source of truth read by server.ts, client.ts and tools/compile.ts
 * (which names release files with it). Keep deno.json's "version" equal (tests check it).
 */
export const VERSION = "0.1.0";
