/**
 * A file sent to a room (issue 36): ONE upload that every member's devices can open. The file goes
 * to the server once, as a room's file (`file.put` with `room`: every member may read it, the
 * server drops it once every other member took it); once it is all there and hashed, its offer —
 * name, size, SHA-256 and the one-time age identity — goes to the room as ONE message sealed under
 * the sender's room key (`roomOffer`), not one offer per member. Each member accepts on their own,
 * from the relay (no direct path: there is one upload for all). A restarted sender resumes the same
 * upload (same identity and header seed) from the server's offset, and offers once it is complete.
 * Reads the file to send through send.ts and disk.ts.
 */
import { normalizeName, withoutHash } from "../../protocol/names.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { checkUnchanged, FileSum } from "./disk.ts";
import { cipherSize } from "./layout.ts";
import type { OutRecord } from "./book.ts";
import { prepared, type Sending, uploadRecord, upProgress } from "./send.ts";
import { endIfFinal, endsUpload, endUpload } from "./withdraw.ts";
import { setOut } from "./out_record.ts";
import { Stall } from "./stall.ts";
import { relayUpload } from "./upload.ts";

const EMPTY = new Uint8Array(0);

/** The room's name and its other members (`no_room` when not a member, `usage` when alone). */
async function roomOf(client: ChatClient, room: string): Promise<{ name: string; members: string[] }> {
  const name = normalizeName(withoutHash(room));
  const info = name ? (await client.commands.roomList()).find((r) => r.name === name) : undefined;
  if (!info) throw new BackendError("no_room", `You are not in a room named ${room}`);
  const members = info.members.filter((m) => m !== client.user);
  if (!members.length) throw new BackendError("usage", `Nobody else is in ${room}`);
  return { name: info.name, members };
}

/**
 * Uploads `path` once for `room` and offers it to the room in one sealed message (`given`: that
 * remembered upload, resumed as it is); resolves with the plaintext's name, size and SHA-256 and the
 * members it was offered to.
 */
export async function sendRoom(
  ft: Sending,
  room: string,
  path: string,
  given?: OutRecord,
): Promise<{ fid: string; name: string; size: number; sha256: string; to: string[] }> {
  // A resumed upload to a room its sender left ends there (`no_room`).
  const { name: roomName, members } =
    await (given ? roomOf(ft.client, room).catch(endIfFinal(ft, given)) : roomOf(ft.client, room));
  const rec = given ?? await uploadRecord(ft, `#${roomName}`, path, ft.client.clock.now());
  const p = upProgress(ft, rec);
  const size = cipherSize(rec.size);
  const put = async (off: number, body: Uint8Array | readonly Uint8Array[]) => {
    const r = await ft.client.conn.request(
      "file.put",
      { fid: rec.fid, to: roomName, room: true, size, off },
      body,
    );
    return Number(r.header.have);
  };
  const sum = rec.sha256 ? null : new FileSum(rec.path, rec.size);
  sum?.done.catch(() => {}); // awaited below
  const { key, src } = await prepared(rec, sum);
  let sha256 = rec.sha256;
  try {
    await relayUpload({
      src,
      put,
      direct: () => Promise.resolve(null), // one upload for every member: the relay only
      progress: (d) => p(d, "active"),
      stall: new Stall(ft.stallMs, `the server to take ${rec.name}`),
    }, await put(0, EMPTY));
    sum?.finish(); // a no-op once every byte was seen on the way
    await checkUnchanged(rec.path, rec.size, rec.mtime);
    if (sum) await setOut(ft.ops, rec.fid, { sha256: sha256 = await sum.done });
  } catch (e) {
    if (endsUpload(e)) await endUpload(ft, rec);
    p(0, "failed");
    throw e;
  } finally {
    src.file.close();
  }
  await ft.ops.roomOffer(roomName, { fid: rec.fid, name: rec.name, size: rec.size, key, sha256 });
  await setOut(ft.ops, rec.fid, { offered: true, state: "sent" });
  p(size, "done");
  return { fid: rec.fid, name: rec.name, size: rec.size, sha256, to: members };
}
