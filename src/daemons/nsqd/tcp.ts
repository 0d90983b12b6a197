import type { Socket, SocketHandler, TCPSocketListener, UnixSocketListener } from "bun";
import { ascii } from "../../core/protocol/bytes.ts";
import { encodeFrame, FrameType, MAGIC_V2 } from "../../core/protocol/frame.ts";
import { BusyPoll } from "../../core/busy-poll.ts";
import { type ListenAddress, removeStaleSocket } from "../../core/net.ts";
import { Client, type SocketData } from "./client.ts";
import type { NSQD } from "./nsqd.ts";

const BAD_PROTOCOL = encodeFrame(FrameType.Error, ascii("E_BAD_PROTOCOL"));

export type TcpListener = TCPSocketListener<SocketData> | UnixSocketListener<SocketData>;

/** The TCP listener: a 4-byte magic picks the protocol (nsqd speaks only `  V2`), then a Client takes over. */
export function listenTcp(nsqd: NSQD, addr: ListenAddress): TcpListener {
  let nextId = 0;
  const poll = new BusyPoll(0.2);
  const socket: SocketHandler<SocketData> = {
    open(s) {
      s.data = {};
    },
    data(s, chunk) {
      const d = s.data;
      poll.touch();
      if (d.client !== undefined) {
        d.client.onData(chunk);
        return;
      }
      const have = d.magic ?? new Uint8Array(0);
      const buf = new Uint8Array(have.length + chunk.length);
      buf.set(have);
      buf.set(chunk, have.length);
      if (buf.length < 4) {
        d.magic = buf;
        return;
      }
      d.magic = undefined;
      if (buf[0] !== MAGIC_V2[0] || buf[1] !== MAGIC_V2[1] || buf[2] !== MAGIC_V2[2] || buf[3] !== MAGIC_V2[3]) {
        nsqd.log.error(`client(${s.remoteAddress}) bad protocol magic '${new TextDecoder().decode(buf.subarray(0, 4))}'`);
        s.end(BAD_PROTOCOL);
        return;
      }
      const client = new Client(++nextId, s as Socket<SocketData>, nsqd);
      d.client = client;
      nsqd.addClient(client);
      if (buf.length > 4) client.onData(buf.subarray(4));
    },
    drain(s) {
      s.data.client?.onDrain();
    },
    close(s) {
      s.data.client?.cleanup();
    },
    error(s, err) {
      nsqd.log.error(`client(${s.remoteAddress}) socket error - ${err.message}`);
    },
  };
  if ("unix" in addr) {
    removeStaleSocket(addr.unix);
    return Bun.listen<SocketData>({ unix: addr.unix, socket });
  }
  return Bun.listen<SocketData>({ hostname: addr.hostname || "0.0.0.0", port: addr.port, socket });
}
