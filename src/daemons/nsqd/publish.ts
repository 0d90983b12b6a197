/**
 * Publishing into a topic, as both of nsqd's front doors do it (TCP protocol-v2.ts and HTTP http.ts).
 * @module
 */
import type { Message } from "./message.ts";
import type { NSQD } from "./nsqd.ts";
import type { Topic } from "./topic.ts";

/**
 * Topic.PutMessage(s) with nsqd's health bookkeeping, shared by TCP PUB/MPUB/DPUB and HTTP /pub, /mpub.
 * The messages are committed (written, as go-diskqueue writes each one before nsqd answers) before this
 * returns, so the caller's OK never precedes the write it acknowledges. A failed put or commit makes nsqd
 * unhealthy and is rethrown for the caller to answer in its own words (E_PUB_FAILED… on TCP, 503 EXITING
 * over HTTP). What a failed commit left buffered is written once the disk recovers, and may be delivered
 * already: the publisher that retries may cause a duplicate, which at-least-once allows, never a loss.
 * A successful publish makes an unhealthy nsqd healthy again.
 * @throws what Topic.put/putMany throw (an exiting topic, a backend that cannot take the messages)
 */
export function publish(nsqd: NSQD, topic: Topic, msgs: Message[]): void {
  try {
    if (msgs.length === 1) topic.put(msgs[0]!);
    else topic.putMany(msgs);
    topic.commit();
  } catch (e) {
    nsqd.setHealth(e as Error);
    throw e;
  }
  if (nsqd.health !== null) nsqd.setHealth(null);
}
