import { UpstreamError } from "./http.ts";

/**
 * The union over the daemons that answered, with the errors of those that did not (NSQ's `PartialErr`):
 * {@link UpstreamError}s, or plain errors for addresses that are not URLs. When none answered, the query
 * throws instead.
 */
export interface PartialResult<T> {
  value: T;
  errors: Error[];
}

/**
 * Asks every daemon in parallel and unions the answers; throws `Failed to query any <daemon>` when all of
 * them failed (none given is an empty answer).
 */
export async function gather<A, R, T>(
  daemon: "nsqlookupd" | "nsqd",
  addrs: readonly A[],
  query: (addr: A) => Promise<R>,
  union: (results: R[]) => T,
): Promise<PartialResult<T>> {
  // query inside the async wrapper so a malformed address fails that daemon only, not the call
  const settled = await Promise.allSettled(addrs.map(async (a) => query(a)));
  const results: R[] = [];
  const errors: Error[] = [];
  for (const s of settled) {
    if (s.status === "fulfilled") results.push(s.value);
    else errors.push(tagged(s.reason, daemon));
  }
  if (errors.length > 0 && results.length === 0) {
    throw new AggregateError(errors, `Failed to query any ${daemon}: ${errors.map((e) => e.message).join("\n")}`);
  }
  return { value: union(results), errors };
}

/** The error, naming the kind of daemon that failed when it is an {@link UpstreamError}. */
export function tagged(e: unknown, daemon: "nsqlookupd" | "nsqd"): Error {
  if (e instanceof UpstreamError) e.daemon = daemon;
  return e instanceof Error ? e : new Error(String(e));
}
