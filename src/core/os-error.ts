import { getSystemErrorMap } from "node:util";

/** Go's strerror where it words an errno differently from libuv. */
const GO_REASONS: Record<string, string> = {
  EEXIST: "file exists",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
};

/** The OS's wording for an error code, as Go's errors end (`ECONNREFUSED` → `connection refused`). */
export function osReason(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  const go = GO_REASONS[code];
  if (go !== undefined) return go;
  for (const [name, message] of getSystemErrorMap().values()) if (name === code) return message;
  return undefined;
}
