import { describeDuration } from '../time/duration';
import type { ResolvedElectionOptions } from './election-options';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';

/** The safety argument's cross-field rules (SAFETY.md, rules 1 and 2), checked on resolved durations. */
export function checkSafetyRules({
  leaseDurationMs,
  renewIntervalMs,
  requestTimeoutMs,
  lockDelayMs,
  sessionTtlMs,
  healthCheck,
}: ResolvedElectionOptions): void {
  if (requestTimeoutMs >= leaseDurationMs) {
    throw new ElectionOptionsError(
      'requestTimeout',
      ElectionMessages.optionRuleBroken(
        'requestTimeout < leaseDuration',
        `requestTimeout ${describeDuration(requestTimeoutMs)} must be shorter than leaseDuration ${describeDuration(leaseDurationMs)}, or a single slow request outlives the lease`,
      ),
    );
  }
  if (renewIntervalMs + requestTimeoutMs >= leaseDurationMs) {
    throw new ElectionOptionsError(
      'renewInterval',
      ElectionMessages.optionRuleBroken(
        'renewInterval + requestTimeout < leaseDuration',
        `renewInterval ${describeDuration(renewIntervalMs)} + requestTimeout ${describeDuration(requestTimeoutMs)} must be shorter than leaseDuration ${describeDuration(leaseDurationMs)}, so a renewal that times out can be retried before the lease ends`,
      ),
    );
  }
  if (lockDelayMs < leaseDurationMs) {
    throw new ElectionOptionsError(
      'lockDelay',
      ElectionMessages.optionRuleBroken(
        'lockDelay >= leaseDuration',
        `lockDelay ${describeDuration(lockDelayMs)} is shorter than leaseDuration ${describeDuration(leaseDurationMs)}; Consul must keep the key from others at least as long as a cut-off leader may still act`,
      ),
    );
  }
  if (healthCheck && healthCheck.ttlMs / 2 + requestTimeoutMs >= healthCheck.ttlMs) {
    throw new ElectionOptionsError(
      'healthCheck.ttl',
      ElectionMessages.optionRuleBroken(
        'healthCheck.ttl / 2 + requestTimeout < healthCheck.ttl',
        `the check is updated every ${describeDuration(healthCheck.ttlMs / 2)}; with requestTimeout ${describeDuration(requestTimeoutMs)} an update could arrive after the ${describeDuration(healthCheck.ttlMs)} TTL`,
      ),
    );
  }
  if (sessionTtlMs / 2 + requestTimeoutMs >= sessionTtlMs) {
    throw new ElectionOptionsError(
      'sessionTtl',
      ElectionMessages.optionRuleBroken(
        'sessionTtl / 2 + requestTimeout < sessionTtl',
        `the session is renewed every ${describeDuration(sessionTtlMs / 2)}; requestTimeout ${describeDuration(requestTimeoutMs)} is too long for it`,
      ),
    );
  }
}
