import type { Candidate } from './consul-port';

/**
 * Ordered, herd-free succession: when the key falls free, every candidate ranks itself among the
 * live candidates (those whose checks pass), oldest registration first, leaving out the holder that
 * just left. Rank 0 tries at once, rank k only `k × step` later and only if the key is still free, so a
 * failover costs one acquire however many candidates wait (ZooKeeper's recipe, without its extra keys).
 *
 * Every candidate reads the same catalog, so they agree on the order; a brief disagreement costs at
 * most a second acquire, which the conditional acquire makes harmless.
 */
export function successionRank(
  candidates: readonly Candidate[],
  instanceId: string,
  previousHolder: string | null,
): number {
  const queue = candidates
    .filter((candidate) => candidate.instanceId !== previousHolder)
    .slice()
    .sort((a, b) => a.createIndex - b.createIndex || a.instanceId.localeCompare(b.instanceId));
  const rank = queue.findIndex((candidate) => candidate.instanceId === instanceId);
  // Not listed yet (just registered, catalog not caught up): queue behind everyone we know of.
  return rank === -1 ? queue.length : rank;
}
