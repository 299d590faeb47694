import type { Observable } from 'rxjs';
import type { Duration, LeaderInfo, LeadershipState } from '../election';
import type { RUN_AS_LEADER } from '../consul-leader.constants';

/**
 * What the app sees of one election: implemented by `ConsulLeaderService` and by the testing stand-in
 * (`createConsulLeaderServiceStub()`), so code written against it runs under both.
 */
export interface ConsulLeader {
  /** Replays the current value to each subscriber, emits on change only, completes at shutdown. */
  readonly isLeader$: Observable<boolean>;
  /**
   * Who holds the key now, as this instance last read it: the leader; `null` when nobody leads;
   * `undefined` when this instance does not know — before its first read of the key, once its own
   * term ended, after Consul has not answered — or its reads of the key have failed, a 403 too — for
   * longer than the lease, after shutdown
   * (`state.leaderKnown` false). Alert on "no leader" on `null`, never on `undefined`.
   * Replays the current value, emits on change only, completes at shutdown.
   */
  readonly leader$: Observable<LeaderInfo | null | undefined>;
  /** Every snapshot of the election: transitions, renewals, problems. Replays the current one. */
  readonly state$: Observable<LeadershipState>;
  /** The current snapshot. */
  readonly state: LeadershipState;
  /**
   * The fencing token of the term (the acquire's Raft index): inside an `async` `@LeaderOnly` method, of the term the call
   * started in (also after an `await`, when that term has ended); elsewhere, of the open term, else
   * null. Pass it downstream so that a stale leader's writes can be rejected.
   */
  readonly fencingToken: number | null;
  /**
   * The signal of the term, chosen as for `fencingToken`: aborted (with a `LeadershipLostError`) the
   * moment that term ends. With no term open it is an already-aborted signal, never undefined.
   */
  readonly signal: AbortSignal;
  /** Synchronous; true only while this instance leads and its step-down deadline has not passed. */
  isLeader(): boolean;
  /**
   * Throws a `NotLeaderError` unless this instance leads at the moment of the call (checked like
   * {@link isLeader}, against the clock now). For code that must never run elsewhere; `context`
   * names it in the error's message.
   */
  assertLeader(context?: string): void;
  /** Steps down now and campaigns again after `pause` (default: the `resignPause` option). */
  resign(options?: { pause?: Duration }): Promise<void>;
}

/** Implemented by what a `@LeaderOnly` wrapper calls: runs `call` as leader, counting it in flight. */
export interface LeaderOnlyRunner {
  [RUN_AS_LEADER]<T>(label: string, call: () => T): T | undefined;
}
