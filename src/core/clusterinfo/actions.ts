/**
 * The cluster as nsqadmin acts on it (NSQ internal/clusterinfo): producers found through lookupds or a static
 * nsqd list, and the admin actions fanned out to every lookupd and every nsqd concerned. An action answers
 * with the requests that failed (NSQ's `PartialErr`), and throws only when it could not find its nsqd at all.
 * @module
 */
import { type PartialResult, tagged } from "./gather.ts";
import { endpointUrl, type GetOptions, postV1 } from "./http.ts";
import { getLookupdProducers, getLookupdTopicProducers } from "./lookupd.ts";
import { getNSQDProducers, getNSQDTopicProducers, nodeAddress } from "./nsqd.ts";
import type { ClusterNode, Producer } from "./types.ts";

/** Where the cluster is found: lookupds when any are given, else a static list of nsqd (nsqadmin's two modes). */
export interface ClusterSource {
  lookupd: string[];
  nsqd: string[];
}

/** Every nsqd of the cluster (NSQ GetProducers). */
export function getProducers(src: ClusterSource, opts: GetOptions): Promise<PartialResult<ClusterNode[]>> {
  return src.lookupd.length > 0 ? getLookupdProducers(src.lookupd, opts) : getNSQDProducers(src.nsqd, opts);
}

/** The nsqd that have `topic` (NSQ GetTopicProducers). */
export function getTopicProducers(topic: string, src: ClusterSource, opts: GetOptions): Promise<PartialResult<Producer[]>> {
  return src.lookupd.length > 0 ? getLookupdTopicProducers(topic, src.lookupd, opts) : getNSQDTopicProducers(topic, src.nsqd, opts);
}

/** The admin actions on a topic or a channel that every nsqd producing the topic carries out. */
export type QueueAction = "pause" | "unpause" | "empty" | "delete";

/**
 * POSTs `/topic/<action>` or `/channel/<action>` to every nsqd producing `topic`; `delete` also removes the
 * registration from every lookupd first (NSQ DeleteTopic, DeleteChannel, PauseTopic, EmptyChannel, …).
 * @example const failed = await queueAction("delete", "t", "ch", { lookupd: ["127.0.0.1:4161"], nsqd: [] }, { timeoutMs: 5000 });
 */
export async function queueAction(action: QueueAction, topic: string, channel: string | null, src: ClusterSource, opts: GetOptions): Promise<Error[]> {
  const { value: producers, errors } = await getTopicProducers(topic, src, opts);
  const path = `/${channel === null ? "topic" : "channel"}/${action}`;
  const query: Record<string, string> = channel === null ? { topic } : { topic, channel };
  if (action === "delete") errors.push(...(await post("nsqlookupd", src.lookupd, path, query, opts)));
  errors.push(...(await post("nsqd", producers.map(nodeAddress), path, query, opts)));
  return errors;
}

/**
 * Creates `topic` on every lookupd and, with a channel, the channel on every lookupd and every nsqd producing
 * the topic (NSQ CreateTopicChannel).
 */
export async function createTopicChannel(topic: string, channel: string, lookupd: string[], opts: GetOptions): Promise<Error[]> {
  const errors = await post("nsqlookupd", lookupd, "/topic/create", { topic }, opts);
  if (channel === "") return errors;
  const query = { topic, channel };
  errors.push(...(await post("nsqlookupd", lookupd, "/channel/create", query, opts)));
  const producers = await getLookupdTopicProducers(topic, lookupd, opts);
  errors.push(...producers.errors, ...(await post("nsqd", producers.value.map(nodeAddress), "/channel/create", query, opts)));
  return errors;
}

/**
 * Tombstones `node` (`broadcast_address:http_port`) for `topic` on every lookupd, then deletes the topic from
 * that nsqd (NSQ TombstoneNodeForTopic), so consumers stop finding it there.
 */
export async function tombstoneNodeForTopic(topic: string, node: string, lookupd: string[], opts: GetOptions): Promise<Error[]> {
  const errors = await post("nsqlookupd", lookupd, "/topic/tombstone", { topic, node }, opts);
  const { value: nodes, errors: nodeErrors } = await getNSQDProducers([node], opts);
  errors.push(...nodeErrors, ...(await post("nsqd", nodes.map(nodeAddress), "/topic/delete", { topic }, opts)));
  return errors;
}

/** POSTs to each address in turn, as NSQ does; the failures. */
async function post(daemon: "nsqlookupd" | "nsqd", addrs: string[], path: string, query: Record<string, string>, opts: GetOptions): Promise<Error[]> {
  const errors: Error[] = [];
  for (const a of addrs) {
    try {
      await postV1(endpointUrl(a, path, query), opts);
    } catch (e) {
      errors.push(tagged(e, daemon));
    }
  }
  return errors;
}
