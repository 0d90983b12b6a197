const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;

/** internal/protocol/names.go: 1..64 chars (the `#ephemeral` suffix counts). */
export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= 64 && NAME_RE.test(name);
}

export const isValidTopicName = isValidName;
export const isValidChannelName = isValidName;

export function isEphemeral(name: string): boolean {
  return name.endsWith("#ephemeral");
}
