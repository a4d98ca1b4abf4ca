/** Admin handlers (the command table already checked the admin role) and the key directory. */
import { ErrorCode } from "../protocol/errors.ts";
import type { Request } from "../protocol/messages.ts";
import { normalizeName } from "../protocol/names.ts";
import type { ActionResult, Core } from "./core.ts";
import type { Session } from "./session.ts";
import { verifyBundle } from "../crypto/prekey_verify.ts";

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
export async function unban(c: Core, s: Session, m: Request<"admin.unban">): Promise<void> {
  answer(s, m.id, await c.unban(s.user, m.user));
}

/**
 * The checks on a key upload (issue 10 item 5): the identity's self-signature and the signed
 * prekey's signature must verify (prekey_verify.ts), else the upload is refused; one-time prekeys
 * past the per-user cap are ignored (the reply says how many). Returns the refusal, or how many
 * of the upload's one-time prekeys to keep.
 */
async function checkUpload(c: Core, s: Session, m: Request<"keys.publish">): Promise<ActionResult | number> {
  if (!await verifyBundle({ identity: m.identity, spk: m.spk })) {
    return {
      ok: false,
      code: ErrorCode.BadKeys,
      msg: "The identity or signed prekey signature does not verify",
    };
  }
  const have = m.opks.length ? await c.store.countPrekeys(s.user) : 0;
  return Math.max(0, Math.min(m.opks.length, c.config.maxPrekeys - have));
}

export async function keysPublish(c: Core, s: Session, m: Request<"keys.publish">): Promise<void> {
  const keep = await checkUpload(c, s, m);
  if (typeof keep !== "number") return answer(s, m.id, keep);
  await c.store.putIdentity(s.user, JSON.stringify(m.identity), JSON.stringify(m.spk));
  if (keep) await c.store.addPrekeys(s.user, m.opks.slice(0, keep));
  const ignored = m.opks.length - keep;
  c.log.info("keys.publish", { user: s.user, prekeys: keep, ...(ignored ? { ignored } : {}) });
  const prekeys = await c.store.countPrekeys(s.user);
  s.reply(
    m.id,
    ignored
      ? {
        prekeys,
        ignored,
        note: `At most ${c.config.maxPrekeys} one-time prekeys are kept per user; ${ignored} were ignored`,
      }
      : { prekeys },
  );
}

export async function keysFetch(c: Core, s: Session, m: Request<"keys.fetch">): Promise<void> {
  const u = normalizeName(m.user);
  if (!u || !c.hub.users.has(u)) {
    return s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${m.user}`);
  }
  const b = await c.store.takeBundle(u, u === s.user || c.opkBudget.take(`${s.user}>${u}`));
  if (!b) return s.fail(m.id, ErrorCode.NoKeys, `${u} has not published encryption keys yet`);
  const low = (await c.store.countPrekeys(u)) < 10;
  if (low) { for (const x of c.hub.sessionsOf(u)) x.send({ t: "notice", level: "info", text: "keys.low" }); }
  s.reply(m.id, {
    user: u,
    bundle: {
      identity: JSON.parse(b.identity),
      spk: JSON.parse(b.spk),
      ...(b.opk ? { opk: JSON.parse(b.opk) } : {}),
    },
  });
}

export async function keysCount(c: Core, s: Session, m: Request<"keys.count">): Promise<void> {
  s.reply(m.id, { prekeys: await c.store.countPrekeys(s.user) });
}
