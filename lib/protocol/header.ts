/**
 * A frame's header: UTF-8 JSON, one object, at most `MAX_DEPTH` levels of nesting, no key that could
 * reach an object's prototype (`__proto__`, `constructor`, `prototype`). Pure; throws `ProtocolError`.
 * frame.ts re-exports it with the rest of the codec.
 */
import { utf8Strict } from "../common/bytes.ts";
import { ErrorCode, ProtocolError } from "./errors.ts";

/** How deeply a header's JSON may nest. */
export const MAX_DEPTH = 8;

const FORBIDDEN_KEY = /"(__proto__|constructor|prototype)"\s*:/;

function checkKey(key: string, v: unknown): unknown {
  if (key === "__proto__" || key === "constructor" || key === "prototype") {
    throw new ProtocolError(ErrorCode.ForbiddenKey, `Key "${key}" is not allowed`);
  }
  return v;
}

/** Parses header JSON with the depth and forbidden-key checks. Throws `ProtocolError`. */
export function parseHeader(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    throw new ProtocolError(ErrorCode.BadJson, "Header is not valid UTF-8");
  }
  // Cheap structural pre-scan: refuse deep nesting before JSON.parse builds it.
  let depth = 0, inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++; // backslash: skip escaped char
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_DEPTH) throw new ProtocolError(ErrorCode.TooDeep, "Header is nested too deeply");
    } else if (c === 125 || c === 93) depth--;
  }
  // Forbidden keys: a fast scan of the text; escaped text (`\u…`, which could spell a key) takes
  // the slower parse that checks every key.
  const escaped = text.includes("\\u");
  if (!escaped) {
    const m = FORBIDDEN_KEY.exec(text);
    if (m) throw new ProtocolError(ErrorCode.ForbiddenKey, `Key "${m[1]}" is not allowed`);
  }
  let value: unknown;
  try {
    value = escaped ? JSON.parse(text, checkKey) : JSON.parse(text);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(ErrorCode.BadJson, "Header is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProtocolError(ErrorCode.BadJson, "Header must be a JSON object");
  }
  return value as Record<string, unknown>;
}
