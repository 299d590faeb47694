import type { ElectionContext } from './election-context';
import { Backoff } from '../time/backoff';
import type { TimerSlot } from '../time/election-timers';
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
 * Until a read answers, the hold waits out the longest lease allowed; a failed read is retried with
 * the backoff (one loop, in the place of the campaign, which does not run while we hold the key).
 */
export class CandidateLeases {
  private readonly timer: TimerSlot;
  private readonly backoff: Backoff;

  constructor(private readonly context: ElectionContext) {
    this.timer = context.timers.slot();
    this.backoff = Backoff.forRetries(context.options.retry);
  }

  /**
   * Reads the catalog until one read answers, while `pending()`; then calls `learned` with the
   * longest lease of the key's candidates (0 when none says). Does nothing without a health check:
   * no service, no catalog.
   */
  learn(pending: () => boolean, learned: (longestMs: number) => void): void {
    this.timer.clear();
    this.backoff.reset();
    void this.attempt(pending, learned, true);
  }

  private async attempt(
    pending: () => boolean,
    learned: (longestMs: number) => void,
    first: boolean,
  ): Promise<void> {
    const { healthCheck, key, requestTimeoutMs } = this.context.options;
    if (!healthCheck || !pending()) return;
    try {
      const read = await this.context.port.readCandidates(healthCheck.serviceName, {
        timeoutMs: requestTimeoutMs,
        includeCritical: true,
      });
      if (!pending()) return;
      // By key, not by service name alone: a user may give two keys one `serviceName`.
      const leases = read.candidates
        .filter((candidate) => candidate.leaderKey === key)
        .map((candidate) => candidate.leaseMs ?? 0);
      learned(Math.max(0, ...leases));
    } catch (error) {
      if (!pending()) return;
      if (first) {
        this.context.logger.warn(
          ElectionMessages.candidateLeasesUnread(key, healthCheck.serviceName, String(error)),
        );
      }
      this.timer.arm(
        () => void this.attempt(pending, learned, false),
        this.backoff.nextAfter(error),
      );
    }
  }
}
