/**
 * tls_server.ts's read buffer sizes: grow while reads fill the buffer, back to the large one after
 * a small read into the bulk one, and down to READ_TINY after a read of less than it into a buffer
 * up to READ_MID (an idle logged-in connection waits on 256 bytes; issue 37, C).
 */
import assert from "node:assert/strict";
import { nextReadSize, READ_BULK, READ_LARGE, READ_MID, READ_SMALL, READ_TINY } from "./tls_server.ts";

Deno.test("tls_server: read buffers grow while filled, shrink after small reads", () => {
  // a connection's life: handshake, login, idle
  assert.equal(nextReadSize(READ_SMALL, 517), READ_SMALL, "a ClientHello that fits");
  assert.equal(nextReadSize(READ_SMALL, READ_SMALL), READ_MID, "one with post-quantum key shares");
  assert.equal(nextReadSize(READ_MID, 80), READ_TINY, "the client's Finished, a login: small");
  assert.equal(nextReadSize(READ_SMALL, READ_TINY - 1), READ_TINY);
  assert.equal(nextReadSize(READ_TINY, 100), READ_TINY, "idle: stays small");
  assert.equal(nextReadSize(READ_TINY, READ_TINY), READ_MID, "filled: grows again");
  assert.equal(nextReadSize(READ_MID, READ_TINY), READ_MID, "a read of READ_TINY or more keeps it");
  // bulk data
  assert.equal(nextReadSize(READ_MID, READ_MID), READ_LARGE);
  assert.equal(nextReadSize(READ_LARGE, READ_LARGE), READ_BULK);
  assert.equal(nextReadSize(READ_BULK, READ_BULK), READ_BULK);
  assert.equal(nextReadSize(READ_BULK, READ_MID - 1), READ_LARGE);
  assert.equal(nextReadSize(READ_LARGE, 10), READ_LARGE, "a large buffer is not dropped to tiny");
});
