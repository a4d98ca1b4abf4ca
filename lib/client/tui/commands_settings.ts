/**
 * `/set` (issue 71.11): the settings of settings.ts's `SETTINGS`, listed, explained and changed; the
 * app applies and saves them (app_settings.ts, through the `CommandContext`'s `settings`). `/help set`
 * lists the same rows (`SET_DETAILS`), as README's settings table does (tests/command_docs_test.ts).
 */
import type { CommandSpec } from "./command_context.ts";
import { findSetting, SETTINGS } from "./settings.ts";

/** One row of `/help set` per setting: its name, allowed values, default and what it does. */
export function settingRows(): [string, string, string, string][] {
  return SETTINGS.map((
    s,
  ) => [s.perConversation ? `${s.name} (per conversation)` : s.name, s.values, s.default, s.help]);
}

/** `/help set`'s lines after the usage. */
export const SET_DETAILS = (): string[] =>
  settingRows().map(([n, v, d, h]) => `  ${n}: ${h}. Values: ${v}; default ${d}`);

export const SET_COMMANDS: readonly CommandSpec[] = [
  {
    name: "set",
    usage: "[NAME] [VALUE…]",
    help:
      "List the settings with their values and defaults, or change one (saved at once; /help set explains them)",
    permission: "user",
    details: SET_DETAILS,
    run: async (ctx, [name, value]) => {
      const s = ctx.settings;
      if (!s) return ctx.print("Settings are not available here", "error");
      if (name === undefined) return s.list().forEach((l) => ctx.print(l));
      const spec = findSetting(name);
      if (!spec) return ctx.print(`No setting "${name}": /set lists them`, "error");
      if (value === undefined) {
        return [
          ...s.list().filter((l) => l.startsWith(`${spec.name} `) || l.startsWith(`${spec.name}=`)),
          `  ${spec.help}; values: ${spec.values}`,
        ]
          .forEach((l) => ctx.print(l));
      }
      ctx.print(await s.set(spec.name, value));
    },
  },
];
