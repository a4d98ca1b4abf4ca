/**
 * Actions ("/me waves"): a text that starts with ACTION ("/me ") is its sender doing something, and
 * is shown as "* alice waves" (what IRC's CTCP ACTION and Matrix's m.emote are). The marker is part
 * of the end-to-end text, so the server, the stores, an edit, search and an older client carry it
 * as it is (an older client shows "alice: /me waves"). The one home of that marker: `/me`,
 * `parley send --me` and every view of a message use these functions.
 */

/** The marker an action's text starts with. */
export const ACTION = "/me ";

/** What `text` says its sender does, without the marker; null when it is no action. */
export function actionOf(text: string): string | null {
  return text.startsWith(ACTION) && text.trim() !== ACTION.trim() ? text.slice(ACTION.length) : null;
}

/** `text` as an action (what `/me TEXT` and `send --me` send). */
export const asAction = (text: string): string => ACTION + text;

/** A message as one line of a list shows who said it: "alice: hi", or "* alice waves" for an action. */
export function saidBy(from: string, text: string): string {
  const act = actionOf(text);
  return act === null ? `${from}: ${text}` : `* ${from} ${act}`;
}
