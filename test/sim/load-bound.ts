// The load promise (lib/election/SAFETY.md, "Load"), derived from an election's own options: a loop
// leaves at least 250 ms between two of its requests (the watch pace, the retry floor), or
// renewInterval between the hold's confirmations if that is shorter; the one exception is a watch's
// read that follows at once an answer showing a change (or its first read). So at most
// ⌈1000 / min(renewInterval, 250 ms)⌉ + 1 requests in any second per loop: 5 at the defaults.
// Kept apart from lib/ on purpose: the checker holds the library to the figure its documentation
// states, not to what its code computes.
import type { ElectionOptions } from '../../lib/election';
import { resolveElectionOptions } from '../../lib/election/options/resolve-election-options';

/** The shortest gap a loop leaves between two of its requests, renewInterval aside (SAFETY.md). */
export const PROMISED_MIN_GAP_MS = 250;

/**
 * The loops of one process that can send at the same moment: the key watch, the session's renewal
 * (or the candidacy that opens a session), the check update, the candidates watch, the successors'
 * write-back, the hold's confirmation, and one of the campaign (acquire, adoption) or the release.
 */
export const LOOPS_PER_PROCESS = 7;

function perLoop(gapMs: number): number {
  return Math.ceil(1_000 / gapMs) + 1;
}

/** Requests one loop of an election with `options` may send in any second, by its own clock. */
export function requestsPerSecondPerLoop(options: ElectionOptions): number {
  const resolved = resolveElectionOptions(options);
  return perLoop(Math.min(resolved.renewIntervalMs, PROMISED_MIN_GAP_MS));
}

/**
 * The same promise for a whole process, in true time: a process's clock may run 1 % slow and a
 * timer fire up to 1 ms early (sim-process.ts), so each gap may look up to that much shorter.
 */
export function requestsPerSecondPerProcess(options: ElectionOptions): number {
  return LOOPS_PER_PROCESS * requestsPerSecondPerLoopInTrueTime(options);
}

/**
 * The loop that sent a request, where only one loop sends its kind: the hold's confirmation (the
 * one read-only transaction) and the candidates watch (the only health read of passing instances;
 * a campaign that took the key absent reads all of them, once per acquire). Others are shared
 * (a key read may be the watch's, the release's or the adoption's) and count for the process only.
 */
export function loopOf(request: {
  readonly name: string;
  readonly write: boolean;
  readonly passingOnly?: boolean;
}): 'confirmation' | 'candidates watch' | null {
  if (request.name === 'Transaction.create' && !request.write) return 'confirmation';
  if (request.name === 'health.service' && request.passingOnly !== false) return 'candidates watch';
  return null;
}

/** {@link requestsPerSecondPerLoop} in true time, as {@link requestsPerSecondPerProcess} counts. */
export function requestsPerSecondPerLoopInTrueTime(options: ElectionOptions): number {
  const resolved = resolveElectionOptions(options);
  return perLoop(Math.min(resolved.renewIntervalMs, PROMISED_MIN_GAP_MS) * 0.99 - 1);
}
