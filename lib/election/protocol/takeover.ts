import type { KeyEntry } from '../consul/consul-port';
import { decodeLeaderValue } from './leader-value';

/**
 * The safety arithmetic of a takeover, as pure functions (the argument: SAFETY.md beside this file).
 *
 * A new holder must not act while the previous one may still act. The previous holder acts only
 * while `now < sent + D_prev` (its lease), so after Consul stopped confirming its hold at t_inv it
 * acts until at most t_inv + D_prev. A new holder that can name a moment t ≥ t_inv on its own clock
 * acts from t + D_prev × (1 + margin); one that finds a valid "released" marker acts at once.
 */

/**
 * Clocks of two machines may run at slightly different rates: a successor waits D plus this share
 * of D (1%: far above what NTP-disciplined clocks drift) so that its D is never shorter than ours.
 */
export const CLOCK_RATE_MARGIN = 0.01;

/**
 * How the free key we are about to take became free; decides how long we must hold back.
 * - `released`: the last holder stepped down, let its work finish, then released the key with the
 *   marker ("nobody before me can still act"): act at once.
 * - `handed-back`: released without that claim (it never acted, or its work still ran, or it
 *   stepped down at its deadline): no lock-delay, but wait out D from when we saw it free.
 * - `invalidated`: the holder's session was invalidated (crash, partition, destroy): Consul's
 *   lock-delay applies, and we wait out D from when we saw it free.
 * - `absent`: no key (first election, deleted, an agent that forgot its state): wait out D from the
 *   answer to our acquire, the first moment we know the key was gone (see {@link actTime}).
 */
export type Vacancy = 'released' | 'handed-back' | 'invalidated' | 'absent';

/** The hold a follower last saw on the key: its session and the term's fencing token. */
export interface SeenHolder {
  readonly session: string;
  readonly token: number;
  /** The hold's LockIndex as acquired: a new term of the same session has another one. */
  readonly lockIndex: number;
  /**
   * `token` is the term's for sure: read from a value of the term, or the index of the acquire itself
   * (a locked entry without one). A plain PUT's index (LockIndex 0) is only a stand-in.
   */
  readonly tokenKnown?: boolean;
  /** The key was seen free since: the next hold seen, even by the same session, is a new term. */
  readonly ended?: boolean;
}

export function vacancyOf(entry: KeyEntry | null, lastHolder?: SeenHolder | null): Vacancy {
  if (!entry) return 'absent';
  const value = decodeLeaderValue(entry.value);
  if (entry.lockIndex < 1) {
    // A plain PUT or a `kv import` sets LockIndex to 0 (seen on 1.8.7): an operator copying a
    // released value back, perhaps into a deleted key while a cut-off leader may still act. Such a
    // marker counts only when it names the very hold this follower last saw on the key (its session
    // and term), which a copy of an older release cannot; an operator's plain PUT of a held key
    // also leaves LockIndex 0, and its holder's release still names that hold. Otherwise the entry
    // is at most a hand-back: no lock-delay, D from when it was seen free.
    const bound =
      !!value?.releasedAt &&
      !!lastHolder &&
      value.releasedBy === lastHolder.session &&
      value.token === lastHolder.token;
    if (bound) return 'released';
    return value?.releasedAt || value?.handedBackAt ? 'handed-back' : 'invalidated';
  }
  if (value?.releasedAt) return 'released';
  if (value?.handedBackAt) return 'handed-back';
  return 'invalidated';
}

/**
 * How long a new holder waits out the previous holder's lease: the larger of its own D and the D
 * the previous holder wrote into the key (a rolling change may shorten D: the old holders still
 * run with the longer one), plus the clock-rate margin.
 */
export function leaseWaitMs(ownLeaseMs: number, previousLeaseMs: number | undefined): number {
  return Math.max(ownLeaseMs, previousLeaseMs ?? 0) * (1 + CLOCK_RATE_MARGIN);
}

export interface ActTimeInput {
  readonly vacancy: Vacancy;
  /** Monotonic time at which the acquire was sent. */
  readonly sentAt: number;
  /** Monotonic time at which its (successful) answer arrived. */
  readonly answeredAt: number;
  /** Monotonic time at which this instance first saw the free entry it conditioned the acquire on. */
  readonly freeSeenAt: number;
  /** From {@link leaseWaitMs}. */
  readonly waitMs: number;
}

/**
 * The monotonic time from which a new holder may act.
 *
 * For an entry that exists (`invalidated`, `handed-back`) the acquire is conditioned on its
 * ModifyIndex, so nothing changed between our sighting and our acquire: t_inv ≤ `freeSeenAt`.
 * An absent key offers no such condition (`check-not-exists` does not see a key created and deleted
 * in between), so the only moment known to follow the deletion is the acquire's answer.
 */
export function actTime(input: ActTimeInput): number {
  switch (input.vacancy) {
    case 'released':
      return input.sentAt;
    case 'absent':
      return input.answeredAt + input.waitMs;
    case 'handed-back':
    case 'invalidated':
      return Math.max(input.sentAt, input.freeSeenAt + input.waitMs);
  }
}

/**
 * Whether a release may carry the "released" marker: only when this holder acted (its term began,
 * so the previous holder's lease had run out) and none of its leader work still runs. A holder that
 * never acted passes on the claim it found (`released`) and nothing more.
 */
export function mayClaimReleased(input: {
  readonly acted: boolean;
  readonly workDrained: boolean;
  readonly vacancy: Vacancy;
}): boolean {
  if (!input.workDrained) return false;
  return input.acted || input.vacancy === 'released';
}
