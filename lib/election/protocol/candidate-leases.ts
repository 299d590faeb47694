import type { ElectionContext } from './election-context';
import { LEASE_DURATION_MAX_MS } from '../options/option-durations';
import { ElectionMessages } from '../election.messages';

/**
 * The longest lease among the key's candidates in the catalog, passing or critical, for a holder
 * that took the key absent (SAFETY.md, rule 2). The holder before it may have run a longer lease
 * than any value this instance read: it started after the key was deleted, or missed that holder's
 * whole hold. That holder registered its service before it could hold the key, and its service
 * stays in the catalog at least `deregisterCriticalServiceAfter` (≥ 1 min, longer than any lease)
 * after its check turned critical, so for as long as it may still act: a read sent after our
 * acquire was answered lists it.
 *
 * Undefined without a health check (no service, no catalog: the holder knows only what the key
 * told it). A read that fails gives the longest lease allowed: never a shorter wait than the
 * catalog would have named.
 */
export async function longestCandidateLeaseMs(
  context: ElectionContext,
): Promise<number | undefined> {
  const { healthCheck, key, requestTimeoutMs } = context.options;
  if (!healthCheck) return undefined;
  try {
    const read = await context.port.readCandidates(healthCheck.serviceName, {
      timeoutMs: requestTimeoutMs,
      includeCritical: true,
    });
    // By key, not by service name alone: a user may give two keys one `serviceName`.
    return Math.max(
      0,
      ...read.candidates
        .filter((candidate) => candidate.leaderKey === key)
        .map((candidate) => candidate.leaseMs ?? 0),
    );
  } catch (error) {
    context.logger.warn(
      ElectionMessages.candidateLeasesUnread(key, healthCheck.serviceName, String(error)),
    );
    return LEASE_DURATION_MAX_MS;
  }
}
