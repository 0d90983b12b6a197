import { osReason } from "../os-error.ts";
import { parseListenAddress } from "../net.ts";
import { ClientError } from "../protocol/errors.ts";

/** The three codes nsqd sends without closing the connection (internal/protocol/errors.go `ClientErr`). */
const NON_FATAL = new Set(["E_FIN_FAILED", "E_REQ_FAILED", "E_TOUCH_FAILED"]);

/**
 * Codes the client itself raises, beside the `E_*` codes nsqd sends (`E_BAD_TOPIC`, `E_PUB_FAILED`, …):
 *
 * - `E_NOT_CONNECTED`: the connection closed before the command was answered (the command may or may not
 *   have been applied; a publish is safe to retry at the cost of a possible duplicate)
 * - `E_CONNECT_FAILED`: dialling nsqd failed or timed out
 * - `E_STOPPED`: the producer or consumer was stopped
 * - `E_TIMEOUT`: nsqd did not answer the handshake in time, or a write stayed blocked past `writeTimeout`
 * - `E_FEATURE_DECLINED`: `tlsV1`, `snappy` or `deflate` was asked for and nsqd answered `false`
 * - `E_AUTH_REQUIRED`: nsqd requires AUTH and no `authSecret` was configured
 * - `E_PROTOCOL`: nsqd sent something that is not NSQ's V2 protocol
 * - `E_INVALID_CONFIG`: a configuration option or value is not valid
 */
export type ClientErrorCode =
  | "E_NOT_CONNECTED"
  | "E_CONNECT_FAILED"
  | "E_STOPPED"
  | "E_TIMEOUT"
  | "E_FEATURE_DECLINED"
  | "E_AUTH_REQUIRED"
  | "E_PROTOCOL"
  | "E_INVALID_CONFIG";

/**
 * Every error the client reports. `code` is nsqd's own (`E_BAD_TOPIC`, `E_MPUB_FAILED`, `E_AUTH_DISABLED`, …)
 * when nsqd answered with an error frame, or one of the {@link ClientErrorCode}s. `desc` is the rest of the
 * text; `addr` the nsqd it came from, when there is one.
 *
 * @example
 * try {
 *   await producer.publish("bad topic!", "x");
 * } catch (e) {
 *   if (e instanceof NsqError && e.code === "E_BAD_TOPIC") console.error("fix the topic name:", e.desc);
 *   else throw e;
 * }
 */
export class NsqError extends ClientError<string> {
  readonly addr: string | undefined;

  constructor(code: string, desc: string, opts: { addr?: string; cause?: unknown } = {}) {
    super(code, desc, opts.cause);
    this.name = "NsqError";
    this.addr = opts.addr;
    if (opts.cause !== undefined) (this as { cause?: unknown }).cause = opts.cause;
  }

  /** Whether nsqd closes the connection after sending this error (all but E_FIN/REQ/TOUCH_FAILED). */
  override get fatal(): boolean {
    return !NON_FATAL.has(this.code);
  }

  /** An error frame's body, `"<CODE> <description>"`. */
  static fromFrame(data: Uint8Array, addr?: string): NsqError {
    const text = new TextDecoder().decode(data);
    const sp = text.indexOf(" ");
    return sp === -1 ? new NsqError(text, "", { addr }) : new NsqError(text.slice(0, sp), text.slice(sp + 1), { addr });
  }
}

/**
 * Go's wording for a failed dial, naming the address and the OS's reason: `dial tcp 127.0.0.1:4150: connect:
 * connection refused`, `dial tcp 10.0.0.1:4150: i/o timeout`, `dial tcp: lookup nsqd.example: no such host`,
 * `dial unix /tmp/nsqd.sock: connect: no such file or directory`. `e` is what Bun.connect or fetch threw, or
 * `"timeout"` when our own deadline passed.
 * @example dialError("127.0.0.1:1", { code: "ECONNREFUSED" }) // "dial tcp 127.0.0.1:1: connect: connection refused"
 */
export function dialError(addr: string, e: unknown): string {
  const where = parseListenAddress(addr);
  const network = "unix" in where ? "unix" : "tcp";
  if (e === "timeout") return `dial ${network} ${addr}: i/o timeout`;
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "ENOTFOUND" || code === "EAI_NONAME") {
    return `dial ${network}: lookup ${"hostname" in where ? where.hostname : addr}: no such host`;
  }
  const reason = typeof code === "string" ? osReason(code) : undefined;
  if (reason !== undefined) return `dial ${network} ${addr}: connect: ${reason}`;
  return `dial ${network} ${addr}: ${e instanceof Error ? e.message : String(e)}`;
}
