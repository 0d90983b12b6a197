/**
 * NSQ's two protocol error classes (internal/protocol/errors.go). The wire text is `${code} ${desc}`;
 * only a {@link FatalClientError} closes the connection. `parent` is for the server's log, never the wire.
 */
export class ClientError extends Error {
  readonly code: string;
  readonly desc: string;
  readonly parent?: unknown;

  constructor(code: string, desc: string, parent?: unknown) {
    super(desc ? `${code} ${desc}` : code);
    this.name = "ClientError";
    this.code = code;
    this.desc = desc;
    this.parent = parent;
  }

  get fatal(): boolean {
    return false;
  }
}

export class FatalClientError extends ClientError {
  constructor(code: string, desc: string, parent?: unknown) {
    super(code, desc, parent);
    this.name = "FatalClientError";
  }

  override get fatal(): boolean {
    return true;
  }
}
