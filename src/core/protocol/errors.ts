/**
 * The codes nsqd's V2 protocol answers with (nsqd/protocol_v2.go); lookupd's V1 uses a few of them.
 * NSQ's `E_AUTH_ERROR` (a failed write of AUTH's answer) has no counterpart here.
 */
export type ErrorCode =
  | "E_INVALID"
  | "E_BAD_BODY"
  | "E_BAD_TOPIC"
  | "E_BAD_CHANNEL"
  | "E_BAD_MESSAGE"
  | "E_PUB_FAILED"
  | "E_MPUB_FAILED"
  | "E_DPUB_FAILED"
  | "E_FIN_FAILED"
  | "E_REQ_FAILED"
  | "E_TOUCH_FAILED"
  | "E_SUB_FAILED"
  | "E_IDENTIFY_FAILED"
  | "E_AUTH_FIRST"
  | "E_AUTH_FAILED"
  | "E_AUTH_DISABLED"
  | "E_UNAUTHORIZED";

/**
 * NSQ's two protocol error classes (internal/protocol/errors.go). The wire text is `${code} ${desc}`;
 * only a {@link FatalClientError} closes the connection. `parent` is for the server's log, never the wire.
 * `Code` is widened only by the client library, whose errors also carry codes read off the wire.
 */
export class ClientError<Code extends string = ErrorCode> extends Error {
  readonly code: Code;
  readonly desc: string;
  readonly parent?: unknown;

  constructor(code: NoInfer<Code>, desc: string, parent?: unknown) {
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
  constructor(code: ErrorCode, desc: string, parent?: unknown) {
    super(code, desc, parent);
    this.name = "FatalClientError";
  }

  override get fatal(): boolean {
    return true;
  }
}
