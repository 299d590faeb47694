import type { LeaderInfo, LeadershipState } from '../election';
import type { ConsulLeaderHttpOptions } from '../interfaces/consul-leader-module-options.interface';

/** What a follower tells a caller of a leader-only handler. */
export interface FollowerAnswer {
  /** The instance that leads now, as this one last read the key; null when none is known (`leaderKnown` false) or nobody leads. */
  readonly leader: LeaderInfo | null;
  /** When to try again: 1 s when a leader is known, else the longest a failover takes; at least 1. */
  readonly retryAfterSeconds: number;
  /** Where the module's `http.redirectTo` sends the caller, or null (answer 503). */
  readonly redirectTo: string | null;
}

/**
 * A follower's answer from the election's state. Without a known leader, the next one is expected
 * within lock-delay + lease: a key freed by a crash stays locked for lock-delay, and its new holder
 * waits out the old lease before it acts.
 */
export function followerAnswerOf(
  state: LeadershipState,
  timings: { readonly leaseDurationMs: number; readonly lockDelayMs: number } | null,
  http: ConsulLeaderHttpOptions | undefined,
  /** The HTTP request's path and query; null for other callers (RPC), which are never redirected. */
  requestUrl: string | null,
): FollowerAnswer {
  // Ourselves as "leader" means we hold the key but may not act yet: nobody else to send them to.
  // A leader this instance cannot vouch for (leaderKnown false) is never named: a caller sent there
  // by a cut-off follower would bounce between non-leaders.
  const known = state.leaderKnown !== false ? state.leader : null;
  const leader = known && known.instanceId !== state.instanceId ? known : null;
  const failoverMs = timings ? timings.lockDelayMs + timings.leaseDurationMs : 1_000;
  const retryAfterSeconds = known ? 1 : Math.max(1, Math.ceil(failoverMs / 1_000));
  const redirectTo =
    leader && requestUrl !== null && http?.redirectTo
      ? (http.redirectTo(leader, { url: requestUrl }) ?? null)
      : null;
  return { leader, retryAfterSeconds, redirectTo };
}
