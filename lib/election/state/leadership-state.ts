/** What this instance is doing in the election. */
export type ElectionRole = 'follower' | 'leader' | 'stopped';

/** The instance that holds the key, as every candidate reads it from Consul. */
export interface LeaderInfo {
  /** The holder's `instanceId` option. */
  readonly instanceId: string;
  /** The holder's `metadata` option, as it wrote it into the key. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Wall-clock time at which the holder acquired the key (its own clock). */
  readonly since: Date;
  /**
   * The holder's fencing token: the `ModifyIndex` (a Raft index) of the acquire that began its hold,
   * as the holder wrote it into the key, or the key's `ModifyIndex` before it did.
   */
  readonly fencingToken: number;
}

/** One continuous period of leadership of this instance. */
export interface LeadershipTerm {
  /**
   * The `ModifyIndex` of the acquire that began this hold: a Raft index, so it grows with every new
   * leader, across key deletions and operators' writes (see SAFETY.md for when it can go back).
   * Hand it to downstream systems so they can reject stale leaders.
   */
  readonly fencingToken: number;
  /** Local count of terms this election has held, starting at 1. */
  readonly number: number;
  /** Wall-clock time at which this instance started to act as leader. */
  readonly startedAt: Date;
  /** Aborted the moment this term ends, whatever the reason (deadline, lost key, resign, stop). */
  readonly signal: AbortSignal;
}

/** Why Consul could not be used as it should, surfaced in the state rather than only in logs. */
export type ElectionProblemKind =
  | 'unreachable'
  | 'timeout'
  | 'server-error'
  /** HTTP 429 from Consul's rate limiter: transient, retried with backoff. */
  | 'rate-limited'
  | 'forbidden'
  /**
   * An answer only a wrong configuration gives, which retrying cannot heal: the address is not a
   * Consul agent (404 from its API, a body that is not Consul's), Consul refuses the session TTL
   * (`Invalid Session TTL`: under the servers' `session_ttl_min`), or a request Consul takes for
   * malformed (4xx). Logged at ERROR with the fix, retried slowly; health is down while it lasts.
   */
  | 'misconfigured'
  | 'unexpected'
  /**
   * The agent that answers does not know the check registered through another one: there is no
   * local agent (Consul Dataplane, or servers behind a load balancer). The election goes on without
   * the check, on the session TTL; the message says what to change.
   */
  | 'no-local-agent';

export interface ElectionProblem {
  readonly kind: ElectionProblemKind;
  /** A sentence a user can act on: which key, which request, which Consul answer. */
  readonly message: string;
  /** HTTP status of Consul's answer, when there was one. */
  readonly status?: number;
}

/** A snapshot of the election, as carried by `LeaderElection.state$`. */
export interface LeadershipState {
  readonly instanceId: string;
  readonly role: ElectionRole;
  /** False while requests to Consul fail for network, timeout or 5xx reasons. */
  readonly consulReachable: boolean;
  /**
   * Monotonic time (`performance.now()` base, ms) since which `consulReachable` has been false; null
   * while Consul answers. A health check compares it with the lease: a blip is not an outage.
   */
  readonly unreachableSince: number | null;
  /** The last unresolved problem with Consul, or null once requests succeed again. */
  readonly problem: ElectionProblem | null;
  /**
   * Who holds the key, as this instance last read it from Consul; null when nobody does — or when
   * no leader is known (see {@link leaderKnown}).
   */
  readonly leader: LeaderInfo | null;
  /**
   * Whether this instance can say who leads. False before its first read of the key (not "nobody
   * leads": the read is ~100 ms away), once its own term ended while it still named itself (the key
   * may be someone else's by now), after Consul has not answered for longer than the lease (the
   * leader it read may have stepped down since), after its reads of the key have failed for that
   * long (a 403 too: a token that lost its key rights), and once stopped; `leader` is then null. True again
   * at the next successful read. "Nobody leads" is `leaderKnown && leader === null`.
   */
  readonly leaderKnown: boolean;
  /** This instance's current term; non-null exactly when `role === 'leader'`. */
  readonly term: LeadershipTerm | null;
  /**
   * While leader: the monotonic time (`performance.now()` base, ms) at which this instance steps down
   * unless Consul confirms its hold again. Null otherwise.
   */
  readonly stepDownDeadline: number | null;
}

/** Where every election starts: a follower that has not read the key yet (no leader known). */
export function initialLeadershipState(instanceId: string): LeadershipState {
  return {
    instanceId,
    role: 'follower',
    consulReachable: true,
    unreachableSince: null,
    problem: null,
    leader: null,
    leaderKnown: false,
    term: null,
    stepDownDeadline: null,
  };
}
