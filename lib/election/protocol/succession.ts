import { createHash } from 'node:crypto';
import type { Candidate } from '../consul/consul-port';

/** How many successors the leader names in the key; the rest queue behind them. */
export const SUCCESSION_LIST_LENGTH = 8;

/**
 * Ordered, herd-free succession. Only the leader watches the live candidates (those whose checks
 * pass, from the catalog) and writes the first few, oldest registration first, into the key as its
 * `successors`. Every follower already watches the key, so when it falls free each knows its rank
 * from the last holder's list at no extra cost: rank 0 tries at once, rank k only `k × step` later and
 * only if the key is still free. A failover costs one acquire however many candidates wait
 * (ZooKeeper's ordered recipe, without a watch per candidate), and followers keep a single
 * blocking query each: the candidate list, N entries long, is read by one instance, not N.
 */
export function successorsOf(
  candidates: ReadonlyArray<Pick<Candidate, 'instanceId' | 'createIndex'>>,
  leaderInstanceId: string,
  /** The holder this leader took over from: named last, as it left the lead. */
  previousHolder?: string,
): string[] {
  const seen = new Set<string>();
  const ordered = candidates
    .filter((candidate) => candidate.instanceId !== leaderInstanceId)
    .slice()
    .sort((a, b) => a.createIndex - b.createIndex || a.instanceId.localeCompare(b.instanceId))
    .map((candidate) => candidate.instanceId)
    .filter((instanceId) => !seen.has(instanceId) && seen.add(instanceId));
  // The previous holder keeps the last place even when the list is cut, so that the order a new
  // leader inherits (see inheritSuccessors) is the one it computes, and the key is not rewritten.
  if (!previousHolder || !ordered.includes(previousHolder))
    return ordered.slice(0, SUCCESSION_LIST_LENGTH);
  const others = ordered.filter((id) => id !== previousHolder).slice(0, SUCCESSION_LIST_LENGTH - 1);
  return [...others, previousHolder];
}

/**
 * This candidate's place in the last holder's list. A candidate not on it (joined since, or the
 * list is missing: the first election) queues behind the list, in one of
 * {@link SUCCESSION_LIST_LENGTH} slots chosen by a hash of its id, so that even then only a few
 * try at the same moment.
 */
export function successionRank(
  successors: readonly string[] | undefined,
  instanceId: string,
  previousHolder?: string,
): number {
  const listed = successors ?? [];
  // The holder that just left (resigned, or is back after a cut-off) queues behind everyone.
  if (instanceId === previousHolder) return listed.length + SUCCESSION_LIST_LENGTH;
  const rank = listed.indexOf(instanceId);
  if (rank !== -1) return rank;
  const slot =
    createHash('sha256').update(instanceId).digest().readUInt32BE(0) % SUCCESSION_LIST_LENGTH;
  return listed.length + slot;
}

export function sameSuccessors(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((id, i) => id === b[i]);
}
