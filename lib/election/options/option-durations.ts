import { describeDuration, parseDuration, type Duration } from '../time/duration';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
/**
 * The longest `leaseDuration` accepted: a candidate that cannot learn the leases of the others
 * (SAFETY.md, rule 2) waits this one out, which no instance of the fleet outlasts.
 */
export const LEASE_DURATION_MAX_MS = MINUTE;
export const HOUR = 60 * MINUTE;

/** The duration option `field` in milliseconds, its fallback when unset; out of range, an error naming the range. */
export function durationIn(
  field: string,
  value: Duration | undefined,
  fallbackMs: number,
  minMs: number,
  maxMs: number,
  /** Why the range is what it is, when the bounds are someone else's (Consul's). */
  reason?: string,
): number {
  const accepted = `a duration from ${describeDuration(minMs)} to ${describeDuration(maxMs)} (milliseconds as a number, or a string such as "2s" or "500ms")${reason ? `; ${reason}` : ''}`;
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new ElectionOptionsError(
      field,
      ElectionMessages.optionOutOfRange(field, value, accepted),
    );
  }
  return ms;
}
