import type { Socket, TCPSocketListener } from "bun";
import { latin1 } from "../../src/core/protocol/bytes.ts";
import { CommandParser, NO_BODY } from "../../src/core/protocol/command-parser.ts";
import { encodeFrame, FrameType } from "../../src/core/protocol/frame.ts";

const enc = new TextEncoder();
const BODY_VERBS = new Set(["IDENTIFY", "AUTH", "PUB", "MPUB", "DPUB"]);

export interface FakeCommand {
  verb: string;
  params: string[];
  body: Uint8Array | null;
}

export interface FakeNsqdOptions {
  /** The IDENTIFY answer (JSON). */
  identify?: Record<string, unknown>;
  /** Answer to one command after IDENTIFY: a response text, `{ error }` for an error frame, or null for none. */
  reply?: (cmd: FakeCommand, conn: FakeConn) => string | { error: string } | null;
  /** Called when a connection has sent its magic (before anything is read further). */
  onOpen?: (conn: FakeConn) => void;
  /** With `identify: { tls_v1: true }`: upgrade to TLS after the IDENTIFY answer, as nsqd does. */
  tls?: { key: string; cert: string };
}

interface Data {
  conn: FakeConn;
  feed: (chunk: Uint8Array) => void;
  upgraded: () => boolean;
}

export interface FakeConn {
  socket: Socket<Data>;
  commands: FakeCommand[];
  bytesRead: number;
  send(type: number, text: string): void;
}

/**
 * A scripted nsqd for fault injection: parses V2 commands with our own CommandParser and answers them
 * as told. For what the real nsqd cannot be made to do (require AUTH, stall its reads).
 */
export async function startFakeNsqd(o: FakeNsqdOptions = {}) {
  const conns: FakeConn[] = [];
  const identify = {
    max_rdy_count: 2500,
    version: "1.3.0",
    max_msg_timeout: 900000,
    msg_timeout: 60000,
    tls_v1: false,
    deflate: false,
    deflate_level: 6,
    max_deflate_level: 6,
    snappy: false,
    sample_rate: 0,
    auth_required: false,
    output_buffer_size: 16384,
    output_buffer_timeout: 250,
    ...o.identify,
  };
  const server: TCPSocketListener<Data> = Bun.listen<Data>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        let magic = 4;
        let out: { write(b: Uint8Array): number } = s;
        let upgraded = false;
        const conn: FakeConn = {
          socket: s,
          commands: [],
          bytesRead: 0,
          send: (type, text) => void out.write(encodeFrame(type as 0, enc.encode(text))),
        };
        const handle = (args: Uint8Array[], body: Uint8Array | null) => {
          const cmd = { verb: latin1(args[0]!), params: args.slice(1).map((a) => latin1(a)), body };
          conn.commands.push(cmd);
          if (cmd.verb === "IDENTIFY") {
            conn.send(FrameType.Response, JSON.stringify(identify));
            if (identify.tls_v1 && o.tls) {
              upgraded = true;
              const [, secure] = s.upgradeTLS<Data>({
                data: s.data,
                tls: o.tls,
                socket: {
                  // Without a handshake handler, open fires once the handshake is done: answer OK over TLS.
                  open: (t) => void t.write(encodeFrame(FrameType.Response, enc.encode("OK"))),
                  data: (_t, chunk) => feed(chunk),
                },
              });
              out = secure;
            }
            return;
          }
          const r = o.reply ? o.reply(cmd, conn) : BODY_VERBS.has(cmd.verb) ? "OK" : null;
          if (r === null) return;
          if (typeof r === "string") conn.send(FrameType.Response, r);
          else {
            conn.send(FrameType.Error, r.error);
            s.end();
          }
        };
        const parser = new CommandParser({
          line: (args) => {
            if (BODY_VERBS.has(latin1(args[0]!))) return 64 * 1024 * 1024;
            handle(args, null);
            return NO_BODY;
          },
          badBodySize: () => s.end(),
          body: (args, body) => handle(args, body.slice()),
        });
        const feed = (chunk: Uint8Array) => {
          conn.bytesRead += chunk.length;
          if (magic > 0) {
            const skip = Math.min(magic, chunk.length);
            magic -= skip;
            chunk = chunk.subarray(skip);
            if (magic === 0) o.onOpen?.(conn);
          }
          parser.push(chunk);
        };
        s.data = { conn, feed, upgraded: () => upgraded };
        conns.push(conn);
      },
      data(s, chunk) {
        // After an upgrade the plain socket keeps seeing the ciphertext (oven-sh/bun#26297): ignore it.
        if (!s.data.upgraded()) s.data.feed(chunk);
      },
    },
  });
  return {
    port: server.port,
    addr: `127.0.0.1:${server.port}`,
    conns,
    stop: () => server.stop(true),
  };
}
