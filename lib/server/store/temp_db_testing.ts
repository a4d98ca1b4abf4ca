/**
 * Test support: a SQLite store file in a fresh temp folder of its own, so that removing the folder
 * takes what the store keeps beside its file too (the WAL, `-messages`' segment log). A temp file
 * alone left those behind after every run.
 */
import { SqliteStore, type SqliteStoreOptions } from "./sqlite_store.ts";

/** A path for a store file (nothing there yet) and the removal of its folder. */
export function tempDb(): { path: string; remove: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "parley-store-" });
  return { path: `${dir}/parley.db`, remove: () => Deno.removeSync(dir, { recursive: true }) };
}

/** A store on a temp file; its `close` removes the folder after closing. */
export function tempFileStore(o?: SqliteStoreOptions): SqliteStore {
  const { path, remove } = tempDb();
  const s = new SqliteStore(path, o);
  const close = s.close.bind(s);
  s.close = async () => {
    try {
      await close();
    } finally {
      remove();
    }
  };
  return s;
}
