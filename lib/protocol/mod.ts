/** Entry of the pure protocol layer: frame codec, message schemas, error codes, name rules. */
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./messages.ts";
export * from "./names.ts";
