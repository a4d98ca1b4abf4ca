/** Admin handlers (the command table already checked the admin role); keys are in handlers_devices.ts. */
import type { Request } from "../protocol/messages.ts";
import type { ActionResult, Core } from "./core.ts";
import type { Session } from "./session.ts";

function answer(s: Session, id: number, r: ActionResult): void {
  if (r.ok) s.reply(id, { text: r.text });
  else s.fail(id, r.code, r.msg);
}

export async function kick(c: Core, s: Session, m: Request<"admin.kick">): Promise<void> {
  answer(s, m.id, await c.kick(s.user, m.user, m.ban, m.reason));
}
export async function kicked(c: Core, s: Session, m: Request<"admin.kicked">): Promise<void> {
  s.reply(m.id, { kicks: await c.listKicks(), now: c.clock.now() });
}
export async function grant(c: Core, s: Session, m: Request<"admin.grant">): Promise<void> {
  answer(s, m.id, await c.setRole(s.user, m.user, "admin"));
}
export async function revoke(c: Core, s: Session, m: Request<"admin.revoke">): Promise<void> {
  answer(s, m.id, await c.setRole(s.user, m.user, "user"));
}
export async function unlock(c: Core, s: Session, m: Request<"admin.unlock">): Promise<void> {
  answer(s, m.id, await c.unlock(s.user, m.user));
}
export async function invite(c: Core, s: Session, m: Request<"admin.invite">): Promise<void> {
  const r = await c.invite(s.user);
  if (!r.ok) return s.fail(m.id, r.code, r.msg);
  s.reply(m.id, { text: r.text, invite: r.invite, expires: r.expires });
}
export async function unban(c: Core, s: Session, m: Request<"admin.unban">): Promise<void> {
  answer(s, m.id, await c.unban(s.user, m.user));
}
