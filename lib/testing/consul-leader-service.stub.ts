import type { BeforeApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, distinctUntilChanged, map, type Observable } from 'rxjs';
import { initialLeadershipState, type LeaderInfo, type LeadershipState } from '../election';
import { RUN_AS_LEADER } from '../consul-leader.constants';
import { InFlightCalls } from '../consul-leader.in-flight';
import { assertLeaderOf } from '../errors/not-leader.error';
import type { ConsulLeader, LeaderOnlyRunner } from '../interfaces/consul-leader.interface';

export interface ConsulLeaderServiceStubOptions {
  /** Start as leader. Default false. */
  leader?: boolean;
  /** This instance's id in the stub's states. Default `'stub-instance'`. */
  instanceId?: string;
  /** The key named by a `NotLeaderError` from `assertLeader()`. Default `'stub/leader'`. */
  key?: string;
}

/**
 * A stand-in for `ConsulLeaderService` in users' tests: no Consul, no timers; the test says who
 * leads. `@LeaderOnly` methods, `LeaderOnlyGuard` and code that reads `isLeader$`, `signal` or
 * `fencingToken` behave as they would with the real service in that role.
 *
 * ```ts
 * const leadership = createConsulLeaderServiceStub();
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(ConsulLeaderService).useValue(leadership)   // named: getConsulLeaderToken('billing')
 *   .compile();
 * leadership.becomeLeader();   // ... assert the job runs
 * leadership.becomeFollower(); // ... assert it is skipped
 * ```
 * It proves nothing about Consul: the real election's behaviour is covered by the library's own tests.
 */
export class ConsulLeaderServiceStub
  implements ConsulLeader, LeaderOnlyRunner, BeforeApplicationShutdown
{
  readonly isLeader$: Observable<boolean>;
  readonly leader$: Observable<LeaderInfo | null>;
  readonly state$: Observable<LeadershipState>;

  private readonly subject: BehaviorSubject<LeadershipState>;
  private readonly inFlight = new InFlightCalls();
  private termController: AbortController | null = null;
  private lastFencingToken = 0;
  private termCount = 0;
  /** The election's key, as the real service's `key`. */
  readonly key: string;

  constructor(options: ConsulLeaderServiceStubOptions = {}) {
    this.key = options.key ?? 'stub/leader';
    this.subject = new BehaviorSubject<LeadershipState>(
      initialLeadershipState(options.instanceId ?? 'stub-instance'),
    );
    this.state$ = this.subject.asObservable();
    this.isLeader$ = this.state$.pipe(
      map((state) => state.role === 'leader'),
      distinctUntilChanged(),
    );
    this.leader$ = this.state$.pipe(
      map((state) => state.leader),
      distinctUntilChanged(),
    );
    if (options.leader) this.becomeLeader();
  }

  get state(): LeadershipState {
    return this.subject.getValue();
  }

  get fencingToken(): number | null {
    return this.state.term?.fencingToken ?? null;
  }

  get signal(): AbortSignal | undefined {
    return this.state.term?.signal;
  }

  /** The number of `@LeaderOnly` calls whose promise has not settled yet. */
  get inFlightCalls(): number {
    return this.inFlight.size;
  }

  isLeader(): boolean {
    return this.state.role === 'leader';
  }

  assertLeader(context?: string): void {
    assertLeaderOf({ key: this.key, state: this.state, isLeader: () => this.isLeader() }, context);
  }

  /** Starts a term (a new, larger fencing token unless given) and emits it; no-op while leader. */
  becomeLeader(fencingToken = this.lastFencingToken + 1): void {
    if (this.isLeader()) return;
    this.lastFencingToken = fencingToken;
    this.termCount += 1;
    this.termController = new AbortController();
    const since = new Date();
    const { instanceId } = this.state;
    this.subject.next({
      ...this.state,
      role: 'leader',
      leader: { instanceId, metadata: {}, since, fencingToken },
      term: {
        fencingToken,
        number: this.termCount,
        startedAt: since,
        signal: this.termController.signal,
      },
      stepDownDeadline: Number.POSITIVE_INFINITY,
    });
  }

  /** Ends the term (its signal aborts) and emits; `leader` is who leads instead (default: nobody). */
  becomeFollower(leader: LeaderInfo | null = null): void {
    this.termController?.abort(new Error('The stub became a follower'));
    this.termController = null;
    this.subject.next({
      ...this.state,
      role: 'follower',
      leader,
      term: null,
      stepDownDeadline: null,
    });
  }

  async resign(): Promise<void> {
    this.becomeFollower();
  }

  /** Like the real service at shutdown: steps down, waits for in-flight calls, completes the streams. */
  async stop(): Promise<void> {
    this.becomeFollower();
    await this.inFlight.drain();
    this.subject.next({ ...this.state, role: 'stopped' });
    this.subject.complete();
  }

  /** Nest calls it on `app.close()` when the stub replaces the service, as it would the real one. */
  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  [RUN_AS_LEADER]<T>(_label: string, call: () => T): T | undefined {
    return this.isLeader() ? this.inFlight.track(call()) : undefined;
  }
}

/** Creates a {@link ConsulLeaderServiceStub}, follower unless `{ leader: true }`. */
export function createConsulLeaderServiceStub(
  options?: ConsulLeaderServiceStubOptions,
): ConsulLeaderServiceStub {
  return new ConsulLeaderServiceStub(options);
}
