import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  defaultIfEmpty,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  map,
  type Observable,
} from 'rxjs';
import { ElectionStartError } from './election';
import type {
  Duration,
  ElectionLogger,
  LeaderElection,
  LeaderInfo,
  LeadershipState,
  ResolvedElectionOptions,
} from './election';
import {
  CONSUL_LEADER_DRAINS,
  CONSUL_LEADER_ELECTION,
  FOLLOWER_ANSWER,
  CONSUL_LEADER_LOGGER_CONTEXT,
  CONSUL_LEADER_MODULE_OPTIONS,
  CONSUL_LEADER_NAME,
  RUN_AS_LEADER,
} from './consul-leader.constants';
import type { LeaderWorkDrains } from './consul-leader.drains';
import { InFlightCalls } from './consul-leader.in-flight';
import { leaderStreamOf } from './consul-leader.leader-stream';
import { CALL_SKIPPED, DRAINING, SETTLED_AS, WAITING_FOR_ELECTION } from './consul-leader.messages';
import { TermContext } from './consul-leader.term-context';
import { assertLeaderOf } from './errors/not-leader.error';
import { followerAnswerOf, type FollowerAnswer } from './guards/follower-answer';
import type { ConsulLeader, LeaderOnlyRunner } from './interfaces/consul-leader.interface';
import { defaultMeter } from './metrics/default-meter';
import { recordElectionMetrics } from './metrics/election-metrics';
import type { ConsulLeaderModuleOptions } from './interfaces/consul-leader-module-options.interface';

/** The logger context of an election: `ConsulLeader`, or `ConsulLeader:<name>` for a named one. */
export const consulLeaderLoggerContext = (name: string | null): string =>
  name === null ? CONSUL_LEADER_LOGGER_CONTEXT : `${CONSUL_LEADER_LOGGER_CONTEXT}:${name}`;

/**
 * One election in a Nest app, wired into the app's lifecycle. Inject it by type for the default
 * election, with `@InjectConsulLeader(name)` for a named one.
 *
 * Lifecycle: joins the election at `onApplicationBootstrap` (without blocking bootstrap unless
 * `waitForElection`). At `beforeApplicationShutdown` it steps down locally (the term's signal aborts,
 * `isLeader()` turns false, `@LeaderOnly` calls are skipped), waits for in-flight `@LeaderOnly` calls
 * and `@ClusterCron` runs (their outcomes written) up to `drainTimeout`, then releases the key and destroys its session; the streams complete.
 * `beforeApplicationShutdown` runs after every `onModuleDestroy` but before the app closes its HTTP
 * and microservice servers and before any `onApplicationShutdown`, where most libraries close their
 * connections (TypeORM, Mongoose, clients): in-flight leader work can still finish its writes.
 */
@Injectable()
export class ConsulLeaderService
  implements ConsulLeader, LeaderOnlyRunner, OnApplicationBootstrap, BeforeApplicationShutdown
{
  readonly isLeader$: Observable<boolean>;
  readonly leader$: Observable<LeaderInfo | null | undefined>;
  readonly state$: Observable<LeadershipState>;

  private readonly logger: ElectionLogger;
  private readonly inFlight = new InFlightCalls();
  private readonly terms = new TermContext();
  /** Methods whose skip was logged since the role last changed: a follower logs each one once. */
  private readonly skipsLogged = new Set<string>();

  constructor(
    @Inject(CONSUL_LEADER_ELECTION) private readonly election: LeaderElection,
    @Inject(CONSUL_LEADER_MODULE_OPTIONS) private readonly options: ConsulLeaderModuleOptions,
    /** The election's name; null for the default election. */
    @Inject(CONSUL_LEADER_NAME) readonly name: string | null,
    /** Other leader work to wait for before releasing (the module's `@ClusterCron` runs). */
    @Optional() @Inject(CONSUL_LEADER_DRAINS) private readonly drains?: LeaderWorkDrains,
  ) {
    this.logger = options.logger ?? new Logger(consulLeaderLoggerContext(name));
    this.state$ = election.state$;
    this.isLeader$ = election.state$.pipe(
      map((state) => state.role === 'leader'),
      distinctUntilChanged(),
    );
    this.isLeader$.subscribe(() => this.skipsLogged.clear());
    this.leader$ = leaderStreamOf(election.state$);
  }

  /** This instance's identity in the election (the `instanceId` option or its default). */
  get instanceId(): string {
    return this.election.instanceId;
  }

  /** The Consul key this election competes for. */
  get key(): string {
    return this.election.options.key;
  }

  /** The election's options after defaults and validation (durations in milliseconds). */
  get electionOptions(): ResolvedElectionOptions {
    return this.election.options;
  }

  get state(): LeadershipState {
    return this.election.state;
  }

  get fencingToken(): number | null {
    return this.terms.fencingToken(this.election.state.term);
  }

  get signal(): AbortSignal {
    return this.terms.signal(this.election.state.term);
  }

  isLeader(): boolean {
    return this.election.isLeader();
  }

  /** @throws {NotLeaderError} unless this instance leads now (see {@link ConsulLeader.assertLeader}). */
  assertLeader(context?: string): void {
    assertLeaderOf(this, context);
  }

  /**
   * Steps down now (the term's signal aborts), waits for in-flight `@LeaderOnly` calls up to
   * `drainTimeout`, then releases the key; campaigns again after `pause` (default `resignPause`).
   */
  resign(options: { pause?: Duration } = {}): Promise<void> {
    return this.election.resign({ ...options, drain: () => this.drainInFlight() });
  }

  /** @internal What `LeaderOnlyGuard` answers a follower's caller. */
  [FOLLOWER_ANSWER](requestUrl: string | null): FollowerAnswer {
    return followerAnswerOf(
      this.election.state,
      this.election.options,
      this.options.http,
      requestUrl,
    );
  }

  /** @internal What a `@LeaderOnly` wrapper calls. */
  [RUN_AS_LEADER]<T>(label: string, call: () => T): T | undefined {
    if (!this.election.isLeader()) {
      if (!this.skipsLogged.has(label)) {
        this.skipsLogged.add(label);
        this.logger.debug?.(CALL_SKIPPED(label));
      }
      return undefined;
    }
    return this.terms.runCall(this.election.state.term, this.inFlight, call);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Before start, so that the first transition is counted; stops by itself with the election.
    const meter = this.options.metrics === false ? null : defaultMeter();
    if (meter) recordElectionMetrics(this.election, meter);
    // With failFast the core's start() rejects, the election stopped, on a misconfiguration.
    await this.election.start();
    if (!this.options.waitForElection) return;
    this.logger.log(WAITING_FOR_ELECTION);
    // Not the first read of the key: a free key read at start says nothing yet. The first outcome
    // is leading, following a leader that is someone else, or a problem with Consul.
    const state = await firstValueFrom(
      this.election.state$.pipe(
        filter(
          (current) =>
            current.role !== 'follower' ||
            current.problem !== null ||
            (current.leader !== null && current.leader.instanceId !== this.instanceId),
        ),
        defaultIfEmpty(this.election.state),
      ),
    );
    this.logger.log(SETTLED_AS(state));
    // Bootstrap waited to know the first role; with failFast a Consul that cannot be used then
    // fails it rather than letting the app run as a follower that never leads. Without a local
    // agent the election still works (on the session TTL): not a reason to fail.
    if (this.options.failFast && state.problem && state.problem.kind !== 'no-local-agent') {
      await this.election.stop();
      throw new ElectionStartError(this.election.options.key, state.problem);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.election.stop({ drain: () => this.drainInFlight() });
  }

  private async drainInFlight(): Promise<void> {
    if (this.inFlight.size > 0) this.logger.log(DRAINING(this.inFlight.size));
    await Promise.all([this.inFlight.drain(), this.drains?.drain()]);
  }
}
