/**
 * Test helper for the receiving path: a `ClientHost` over a scripted connection (no store, user
 * "bob"), its engine a `Driver` whose ports do nothing but what the test gives (`emit`, `ack`, `save`).
 */
import { ManualClock } from "../../common/clock.ts";
import type { BackendEvent, Role } from "../backend.ts";
import { type BodyCodec, PlainCodec } from "../e2e/mod.ts";
import type { Connection } from "../session/connection.ts";
import { Driver, type DriverPorts } from "./driver.ts";
import { ServerSession } from "./server_session.ts";

/** Bob's host on `conn`: `emit` hears the engine's events, `ack` carries its acknowledgements, `save` its saves. */
export function testHost(
  conn: Connection,
  o: {
    codec?: BodyCodec;
    emit?: (e: BackendEvent) => void;
    ack?: DriverPorts["ack"];
    save?: DriverPorts["save"];
  } = {},
) {
  const emit = o.emit ?? (() => {});
  const session = new ServerSession(conn, "x", "bob", "user");
  return {
    session,
    conn,
    link: session.openLink(new ManualClock()),
    user: "bob",
    role: "user" as Role,
    store: null,
    codec: o.codec ?? PlainCodec,
    clock: new ManualClock(),
    notify: emit,
    engine: new Driver("bob", {
      emit,
      reconnect: () => {},
      save: o.save ?? (() => {}),
      ack: o.ack ?? (() => Promise.resolve()),
      purge: () => {},
      resend: () => {},
      now: () => 0,
      connOpen: () => true,
      every: () => () => {},
    }),
  };
}
