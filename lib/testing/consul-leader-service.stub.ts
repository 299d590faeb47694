import type { BeforeApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, defer, distinctUntilChanged, map, type Observable } from 'rxjs';
import {
  ElectionOptionsError,
  initialLeadershipState,
  LeadershipLostError,
  parseDuration,
  type Duration,
  type LeaderInfo,
  type LeadershipState,
  type StepDownReason,
} from '../election';
import { ATTACH_CLUSTER_JOBS, RUN_AS_LEADER } from '../consul-leader.constants';
import type { ClusterJob, FireContext } from '../scheduler/cluster-job';
import { OnDemandJobs, type ClusterCronRun } from './on-demand-jobs';
import { InFlightCalls } from '../consul-leader.in-flight';
import { leaderStreamOf } from '../consul-leader.leader-stream';
import { STUB_DRAIN_TIMEOUT } from '../consul-leader.messages';
import { TermContext } from '../consul-leader.term-context';
import { assertLeaderOf } from '../errors/not-leader.error';
import type { ConsulLeader, LeaderOnlyRunner } from '../interfaces/consul-leader.interface';

export interface ConsulLeaderServiceStubOptions {
  /** Start as leader. Default false. */
  leader?: boolean;
  /** This instance's id in the stub's states. Default `'stub-instance'`. */
  instanceId?: string;
  /** What `key` returns. Default `'stub/leader'`. */
  key?: string;
  /** What `name` returns: the election's name, null for the default election. Default null. */
  name?: string | null;
  /** How long `stop()` (and so `app.close()`) waits for in-flight `@LeaderOnly` calls. Default `'10s'`, as the real service. */
  drainTimeout?: Duration;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * A stand-in for `ConsulLeaderService` in users' tests: no Consul, no timers; the test says who
 * leads. `@LeaderOnly` methods, `LeaderOnlyGuard` and code that reads `isLeader$`, `leader$`,
 * `signal` or `fencingToken` behave as they would with the real service in that role — the library
 * runs one behaviour spec against both (test/e2e/consul-leader-service.behaviour.spec.ts).
 *
 * ```ts
 * const leadership = createConsulLeaderServiceStub();
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(ConsulLeaderService).useValue(leadership)   // named: getConsulLeaderToken('billing')
 *   .compile();
 * leadership.becomeLeader();   // ... assert the job runs
 * leadership.becomeFollower(); // ... assert it is skipped
 * ```
 * Shutdown (`app.close()`) works as the real service's: the term's signal aborts, in-flight calls
 * are waited for up to `drainTimeout`, `state$` emits `stopped` and completes. Unlike the real
 * service, one stub serves one app after another: after its `stop()` it is a follower again with
 * fresh streams, so a stub shared by several tests keeps working.
 * `@ClusterCron` jobs run when the test says, with `runClusterCron(name, { fireTime })`.
 * It proves nothing about Consul: the real election's behaviour is covered by the library's own tests.
 */
export class ConsulLeaderServiceStub
  implements ConsulLeader, LeaderOnlyRunner, BeforeApplicationShutdown
{
  readonly isLeader$: Observable<boolean>;
  readonly leader$: Observable<LeaderInfo | null | undefined>;
  readonly state$: Observable<LeadershipState>;
  readonly instanceId: string;
  readonly key: string;
  readonly name: string | null;

  private subject: BehaviorSubject<LeadershipState>;
  private readonly inFlight = new InFlightCalls();
  private readonly terms = new TermContext();
  private readonly drainTimeoutMs: number;
  private termController: AbortController | null = null;
  private lastFencingToken = 0;
  private termCount = 0;
  private stopping: Promise<void> | null = null;
  private readonly clusterJobs = new OnDemandJobs();

  constructor(options: ConsulLeaderServiceStubOptions = {}) {
    this.instanceId = options.instanceId ?? 'stub-instance';
    this.key = options.key ?? 'stub/leader';
    this.name = options.name ?? null;
    const drainTimeoutMs =
      options.drainTimeout === undefined
        ? DEFAULT_DRAIN_TIMEOUT_MS
        : parseDuration(options.drainTimeout);
    if (drainTimeoutMs === undefined || drainTimeoutMs < 0)
      throw new ElectionOptionsError('drainTimeout', STUB_DRAIN_TIMEOUT(options.drainTimeout));
    this.drainTimeoutMs = drainTimeoutMs;
    this.subject = new BehaviorSubject(initialLeadershipState(this.instanceId));
    // Deferred, so that a subscriber after a stop() gets the fresh stream of the next app.
    this.state$ = defer(() => this.subject);
    this.isLeader$ = this.state$.pipe(
      map((state) => state.role === 'leader'),
      distinctUntilChanged(),
    );
    this.leader$ = leaderStreamOf(this.state$);
    if (options.leader) this.becomeLeader();
  }

  get state(): LeadershipState {
    return this.subject.getValue();
  }

  get fencingToken(): number | null {
    return this.terms.fencingToken(this.state.term);
  }

  get signal(): AbortSignal {
    return this.terms.signal(this.state.term);
  }

  /** The number of `@LeaderOnly` calls whose work is not over yet. */
  get inFlightCalls(): number {
    return this.inFlight.size;
  }

  isLeader(): boolean {
    return this.state.role === 'leader';
  }

  assertLeader(context?: string): void {
    assertLeaderOf(this, context);
  }

  /** Starts a term (a new, larger fencing token unless given) and emits it; no-op while leader. */
  becomeLeader(fencingToken = this.lastFencingToken + 1): void {
    if (this.isLeader()) return;
    this.lastFencingToken = fencingToken;
    this.termCount += 1;
    this.termController = new AbortController();
    const since = new Date();
    this.subject.next({
      ...this.state,
      role: 'leader',
      leader: { instanceId: this.instanceId, metadata: {}, since, fencingToken },
      leaderKnown: true,
      term: {
        fencingToken,
        number: this.termCount,
        startedAt: since,
        signal: this.termController.signal,
      },
      stepDownDeadline: Number.POSITIVE_INFINITY,
    });
  }

  /**
   * Ends the term as losing the key would (its signal aborts with a `LeadershipLostError`) and emits;
   * `leader` is who leads instead (default: nobody).
   */
  becomeFollower(leader: LeaderInfo | null = null): void {
    this.endTerm('lost', leader);
  }

  /**
   * Stays in its role but no longer knows who leads, as the real service after Consul has not
   * answered for longer than the lease (or before its first read): `state.leader` null,
   * `state.leaderKnown` false, `leader$` emits `undefined`. A leader steps down first, as the real
   * one would by then.
   */
  loseSightOfLeader(): void {
    if (this.isLeader()) this.endTerm('deadline', undefined);
    else this.subject.next({ ...this.state, leader: null, leaderKnown: false });
  }

  /**
   * Steps down as the real `resign()` does (the signal aborts, then in-flight calls are waited for
   * up to `drainTimeout`); the stub does not campaign again on its own.
   */
  async resign(_options?: { pause?: Duration }): Promise<void> {
    if (!this.isLeader()) return;
    this.endTerm('resign', undefined);
    await this.drain();
  }

  /**
   * Like the real service at shutdown: steps down, waits for in-flight calls up to `drainTimeout`,
   * emits `stopped` and completes the streams. Then it is ready for the next app.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown().finally(() => (this.stopping = null));
    return this.stopping;
  }

  /** Nest calls it on `app.close()` when the stub replaces the service, as it would the real one. */
  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * Runs the `@ClusterCron` job `name` (its `name` option, or `Class.method`) now, whoever leads, with
   * a `FireContext`: `fireTime` as given (default now), a `fencingToken` larger than the last one this
   * stub gave, a `signal` that aborts when the stub steps down or stops. Settles as the job does. The
   * stub never runs the jobs on their schedule: a test says when.
   */
  runClusterCron(name: string, run: ClusterCronRun = {}): Promise<FireContext> {
    return this.clusterJobs.run(name, run, this.termController?.signal ?? null);
  }

  /** The names of the `@ClusterCron` jobs the app handed this stub. */
  get clusterCronJobs(): string[] {
    return this.clusterJobs.names;
  }

  /** @internal The app's jobs, from `ClusterScheduler` at bootstrap: run on demand instead. */
  [ATTACH_CLUSTER_JOBS](jobs: readonly ClusterJob[]): void {
    this.clusterJobs.attach(jobs);
  }

  [RUN_AS_LEADER]<T>(_label: string, call: () => T): T | undefined {
    if (!this.isLeader()) return undefined;
    return this.terms.runCall(this.state.term, this.inFlight, call);
  }

  /** `leader` undefined: as the real service, which no longer vouches for itself, knows no leader. */
  private endTerm(reason: StepDownReason, leader: LeaderInfo | null | undefined): void {
    this.termController?.abort(new LeadershipLostError(reason));
    this.termController = null;
    this.subject.next({
      ...this.state,
      role: 'follower',
      leader: leader ?? null,
      leaderKnown: leader !== undefined,
      term: null,
      stepDownDeadline: null,
    });
  }

  /** In-flight calls, waited for up to `drainTimeout` as the real service does. */
  private async drain(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.drainTimeoutMs);
    });
    await Promise.race([this.inFlight.drain(), timeout]).finally(() => clearTimeout(timer));
  }

  private async shutDown(): Promise<void> {
    if (this.isLeader()) this.endTerm('stop', undefined);
    this.clusterJobs.abortAll();
    await this.drain();
    const stopped = this.subject;
    this.subject = new BehaviorSubject(initialLeadershipState(this.instanceId));
    stopped.next({ ...stopped.getValue(), role: 'stopped', leader: null, leaderKnown: false });
    stopped.complete();
  }
}

/** Creates a {@link ConsulLeaderServiceStub}, follower unless `{ leader: true }`. */
export function createConsulLeaderServiceStub(
  options?: ConsulLeaderServiceStubOptions,
): ConsulLeaderServiceStub {
  return new ConsulLeaderServiceStub(options);
}
