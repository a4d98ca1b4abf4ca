/**
 * Files over the sealed channel (issue 35.1): the four file control kinds — an offer ("file"), a
 * late SHA-256 ("file-sum"), a direct-path candidate ("file-ready"), a withdrawal ("file-gone": the
 * offer is marked withdrawn and the screen told, `file.withdrawn`) — registered with the codec's
 * registry from here, and `FileOps`, what transfers.ts uses of the channel (send those controls,
 * read and update the transfer records (book.ts) in the folder's keystore, wait for a candidate). A received
 * control goes to the keystore, for whichever process of the folder waits (e2e/controls.ts): offers and
 * sums into the book (book.ts), candidates into the filed list `READY` (here: no record) by sender and transfer id. A record changed or
 * control filed by this process wakes its waiters at once (`filed`); one filed by another process of
 * the folder wakes them through the folder's one change signal (e2e/controls.ts `watchFolder`).
 */
import { withoutHash } from "../../protocol/names.ts";
import { BackendError } from "../backend.ts";
import { filed, FiledList, type SealedChannel, takeFiled, waitFiled, wake } from "../e2e/mod.ts";
import {
  decodeFileGone,
  decodeFileOffer,
  decodeFileReady,
  decodeFileSum,
  encodeFileGone,
  encodeFileOffer,
  encodeFileReady,
  encodeFileSum,
  type FileOffer,
  type FileReady,
} from "./offer.ts";
import { acceptedHere, type Book, bookWrites, goneWrites, offerWrites, readBook, sumWrites } from "./book.ts";

/**
 * Direct-path candidates ("file-ready") filed for the process that waits for one, by sender and
 * transfer id: a mailbox of received controls, each taken by its waiter or gone after ten minutes —
 * not a transfer record (those are book.ts's "files:book").
 */
export const READY = new FiledList<FileReady>("files:ready");

const kindOf =
  <T>(decode: (b: Uint8Array, mid: string) => T | null, what: string) => (b: Uint8Array, mid: string) => {
    const v = decode(b, mid);
    if (v === null) throw new SyntaxError(`Malformed ${what}`);
    return v;
  };

/** Registers the file control kinds on `ch` (once per codec). */
export function registerFileControls(ch: SealedChannel): void {
  ch.register<FileOffer>("file", {
    room: true, // a room's file: one offer, under the sender's room key, for every member (room_send.ts)
    decode: kindOf(decodeFileOffer, "file offer"),
    async onReceive(offer, ctx) {
      // No "file-sum" follows in a room: a room's offer goes once the file is uploaded and hashed.
      if (ctx.room !== undefined && !offer.sha256) {
        throw new SyntaxError("A room's file offer without its SHA-256");
      }
      const writes = await offerWrites(ctx.cs, ctx.from, offer, ctx.at, ctx.room);
      if (!Object.keys(writes.put).length) {
        // Seen before: offered again by a sender now waiting to send it straight (send.ts `directOnly`);
        // an accepted one that did not come is taken again now (files/desk.ts resumes on "file.again").
        const again = await acceptedHere(ctx.cs, ctx.from, offer.fid);
        return again
          ? { writes, after: () => ch.notify({ type: "file.again", fid: offer.fid, from: ctx.from }) }
          : { writes };
      }
      const verified = await ctx.verified();
      const { key: _key, ...shown } = offer;
      return {
        writes,
        after: () => {
          wake(ch);
          ch.notify({
            type: "file.offer",
            offer: {
              ...shown,
              from: ctx.from,
              verified,
              ...(ctx.room === undefined ? {} : { room: ctx.room }),
            },
          });
        },
      };
    },
  });
  ch.register<{ fid: string; sha256: string }>("file-sum", {
    decode: kindOf(decodeFileSum, "file sum"),
    onReceive: async (sum, ctx) => ({
      writes: await sumWrites(ctx.cs, ctx.from, sum),
      after: () => wake(ch),
    }),
  });
  ch.register<{ fid: string }>("file-gone", {
    room: true, // a room's file: withdrawn for every member at once
    decode: kindOf(decodeFileGone, "file withdrawal"),
    async onReceive(gone, ctx) {
      const { writes, rec } = await goneWrites(ctx.cs, ctx.from, gone.fid, ctx.room);
      if (!rec) return { writes }; // not offered here, or saved or ended already: nothing to say
      return {
        writes,
        after: () => {
          wake(ch);
          ch.notify({
            type: "file.withdrawn",
            fid: rec.fid,
            from: rec.from,
            name: rec.name,
            ...(rec.room === undefined ? {} : { room: rec.room }),
          });
        },
      };
    },
  });
  ch.register<FileReady>("file-ready", {
    decode: kindOf(decodeFileReady, "direct-path candidate"),
    onReceive: async (ready, ctx) => ({
      writes: await READY.writes(ctx.cs, { from: ctx.from, id: ready.fid, at: ctx.at, value: ready }),
      after: () => wake(ch),
    }),
  });
}

/** What file transfers use of the sealed channel. */
export function fileOps(ch: SealedChannel) {
  const takeNow = (from: string, fid: string) => takeFiled(ch, READY, from, fid);
  return {
    offer: (to: string, o: FileOffer): Promise<void> =>
      ch.send({ kind: "user", name: to }, "file", (mid) => encodeFileOffer(mid, o)),
    /** Offers a room's file to every member at once: one room message under my room key. */
    roomOffer: (room: string, o: FileOffer): Promise<void> =>
      ch.send({ kind: "room", name: room }, "file", (mid) => encodeFileOffer(mid, o)),
    /** The folder's transfer records (book.ts), as committed now. */
    book: (): Promise<Book> => ch.locked((cs) => readBook(cs)),
    /** Reads the transfer records, lets `fn` change them, writes them back, all under the folder's lock. */
    update: (fn: (b: Book) => Book): Promise<Book> =>
      ch.locked(async (cs) => {
        const b = fn(await readBook(cs));
        await cs.commit(bookWrites(b));
        wake(ch); // whoever waits in this process looks now
        return b;
      }),
    verified: (user: string): Promise<boolean> => ch.verified(user),
    /** The SHA-256 of a file offered before it was hashed (offer.ts "file-sum"). */
    sum: (to: string, fid: string, sha256: string): Promise<void> =>
      ch.send({ kind: "user", name: to }, "file-sum", (mid) => encodeFileSum(mid, fid, sha256)),
    /** Tells the recipient (a user, or every member of `#room`) that file `fid` is withdrawn. */
    gone: (to: string, fid: string): Promise<void> =>
      ch.send(
        to.startsWith("#") ? { kind: "room", name: withoutHash(to) } : { kind: "user", name: to },
        "file-gone",
        (mid) => encodeFileGone(mid, fid),
      ),
    /** Tells the sender where this client waits for the file's direct path (direct.ts). */
    ready: (to: string, r: FileReady): Promise<void> =>
      ch.send({ kind: "user", name: to }, "file-ready", (mid) => encodeFileReady(mid, r)),
    /**
     * The recipient's candidate for file `fid`, once it arrives — whichever process of the folder
     * opened it (e2e/controls.ts) — woken when this process files one or another process of the folder
     * commits; rejects after `ms`.
     */
    candidate: async (from: string, fid: string, ms: number): Promise<FileReady> => {
      const r = await waitFiled(ch, READY, from, fid, ms);
      if (!r) throw new BackendError("direct_failed", `${from} did not open a direct path in time`);
      return r;
    },
    /**
     * Resolves once a file control or record is filed by this process (at once) or another process of
     * the folder commits, after `ms`, or when `signal` aborts.
     */
    filed: (ms: number, signal?: AbortSignal): Promise<void> => filed(ch, ms, signal),
    /** The recipient's candidate for file `fid` if it has arrived (taken), without waiting. */
    candidateNow: takeNow,
    /** This device's identity (the direct path's handshake key) and `user`'s pinned identity. */
    identity: () => ch.identity(),
    pinned: (user: string) => ch.pinned(user),
  };
}

export type FileOps = ReturnType<typeof fileOps>;

/** The file operations of each codec that registered them (start/e2e_attach.ts). */
const opsOf = new WeakMap<object, FileOps>();

/** Registers the file kinds on `ch` and remembers its `FileOps` for `fileOpsOf`. */
export function attachFiles(ch: SealedChannel): void {
  registerFileControls(ch);
  opsOf.set(ch, fileOps(ch));
}

/** The file operations of a body codec, when it is a sealed channel with the file kinds registered. */
export function fileOpsOf(codec: object): FileOps | undefined {
  return opsOf.get(codec);
}
