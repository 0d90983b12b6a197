import { ascii } from "../../core/protocol/bytes.ts";
import { encodeFrame, FrameType, MAGIC_V2 } from "../../core/protocol/frame.ts";
import { listenTcp, type TcpListener } from "../../core/listener.ts";
import type { ListenAddress } from "../../core/net.ts";
import { Client } from "./client.ts";
import type { NSQD } from "./nsqd.ts";

const BAD_PROTOCOL = encodeFrame(FrameType.Error, ascii("E_BAD_PROTOCOL"));

/** nsqd's TCP listener: connections that open with `  V2` become Clients; nsqd speaks no other protocol. */
export function listenNsqdTcp(nsqd: NSQD, addr: ListenAddress): TcpListener {
  let nextId = 0;
  return listenTcp(addr, {
    protocols: [
      {
        magic: MAGIC_V2,
        accept(socket, rest) {
          const client = new Client(++nextId, socket, nsqd);
          nsqd.addClient(client);
          if (rest.length > 0) client.onData(rest);
          return client;
        },
      },
    ],
    badProtocol: BAD_PROTOCOL,
    log: nsqd.log,
  });
}
