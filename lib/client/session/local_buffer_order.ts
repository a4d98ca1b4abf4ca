/**
 * The buffer list's order (`ChatBackend.local.bufferOrder`, issue 71.10): a table of the client folder's
 * local store, so that the next start numbers the buffers as this one did. The names are the
 * full-screen client's buffer keys ("#dev", "@bob"); what they mean is tui/buffer_list.ts's business.
 */
import type { BufferOrder } from "../backend.ts";
import { type Row, type SqlDb, writeTx } from "./local_store_sql.ts";

/** The buffer order kept in the store `db`. */
export function bufferOrder(db: SqlDb): BufferOrder {
  return {
    list: () =>
      Promise.resolve(
        (db.prepare("SELECT name FROM buffer_order ORDER BY pos").all() as Row[]).map((r) => String(r.name)),
      ),
    save: (names) =>
      Promise.resolve().then(() =>
        writeTx(db, () => {
          db.exec("DELETE FROM buffer_order");
          const put = db.prepare("INSERT INTO buffer_order (pos, name) VALUES (?, ?)");
          names.forEach((n, i) => put.run(i, n));
        })
      ),
  };
}
