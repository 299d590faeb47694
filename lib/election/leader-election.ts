import type { Observable } from 'rxjs';
import type { WatchContext } from './watch/blocking-watch';
import { Campaign } from './protocol/campaign';
import { Candidacy } from './session/candidacy';
import { systemClock, type Clock } from './time/clock';
import type { ConsulPort } from './consul/consul-port';
import { drainWithin } from './protocol/drain';
import type { ElectionContext } from './protocol/election-context';
import { holdingOf, isRunning, type ElectionStage } from './protocol/election-stage';
import { parseDuration, type Duration } from './time/duration';
import type { ElectionEvent } from './state/election-event';
import type {
  ElectionLogger,
  ElectionOptions,
  ResolvedElectionOptions,
} from './options/election-options';
import { ElectionOptionsError } from './options/election-options.error';
import { ElectionStartError } from './state/election-start.error';
import { ElectionProblems } from './state/election-problems';
import { ElectionTimers } from './time/election-timers';
import { ElectionMessages } from './election.messages';
import { Hold } from './protocol/hold';
import { KeyWatch, type Observation } from './watch/key-watch';
import type { LeaderValue } from './protocol/leader-value';
import type { LeadershipState } from './state/leadership-state';
import { NodeConsulPort } from './consul/node-consul.port';
import { heldKeyOf, KeyRelease, type HeldKey } from './protocol/release';
import { releaseAfterResign } from './protocol/resignation';
import { resolveElectionOptions } from './options/resolve-election-options';
import { PublishedLeader } from './state/published-leader';
import { StatePublisher } from './state/state-publisher';
import { SuccessorNaming } from './protocol/successors';
import { mayClaimReleased } from './protocol/takeover';

/**
 * One candidate in a leader election on one Consul key: the Consul recipe (session, `acquire`, blocking
 * watch) with a local lease that makes a leader step down before Consul could hand the key to another.
 *
 * Safety (SAFETY.md beside this file): the leader acts only while `now < sent + D` on both clocks,
 * `sent` being the send time of its last confirmation (`check-session` transaction) that Consul
 * answered yes. A candidate that takes over a key acts only once the previous holder's lease has run
 * out (takeover.ts, actTime), unless that holder released it with a marker it was entitled to write
 * (mayClaimReleased). The fencing token is the acquire's ModifyIndex.
 */
export class LeaderElection {
  readonly options: ResolvedElectionOptions;
  readonly instanceId: string;
  /** Replays the current state; emits on every transition and renewal; completes after {@link stop}. */
  readonly state$: Observable<LeadershipState>;
  /**
   * Transitions with their reason, confirmation round trips and failed requests, as they happen (no
   * replay); completes after {@link stop}. For metrics: the state stream says what is, this says why.
   */
  readonly events$: Observable<ElectionEvent>;

  private readonly port: ConsulPort;
  private readonly ownsPort: boolean;
  private readonly clock: Clock;
  private readonly logger: ElectionLogger;
  private readonly out: StatePublisher;
  private readonly lifetime = new AbortController();
  /** What the blocking-query loops (key, candidates) need of the election. */
  private readonly watchContext: WatchContext;

  /** Where the election stands, the hold included: the one field every part's guards read. */
  private stage: ElectionStage = { kind: 'idle' };
  private readonly keyWatch: KeyWatch;
  private readonly candidacy: Candidacy;
  private readonly release: KeyRelease;
  private readonly successors: SuccessorNaming;
  private readonly campaign: Campaign;
  private readonly timers: ElectionTimers;
  private readonly hold: Hold;
  private readonly problems: ElectionProblems;
  /** With failFast, while start() waits: a session opened, so Consul answers as Consul. */
  private onFirstSession: (() => void) | null = null;
  private readonly leader: PublishedLeader;

  /** @throws {ElectionOptionsError} when an option is missing, out of range or breaks a safety rule. */
  constructor(options: ElectionOptions) {
    this.options = resolveElectionOptions(options);
    this.instanceId = this.options.instanceId;
    this.clock = options.clock ?? systemClock;
    // The framework-agnostic default; the Nest module passes its Logger.
    this.logger = options.logger ?? console;
    this.ownsPort = !options.consulPort;
    this.port = options.consulPort ?? new NodeConsulPort(this.options.consul);
    this.timers = new ElectionTimers(this.clock);
    this.out = new StatePublisher(this.instanceId);
    this.leader = new PublishedLeader(
      this.options.leaseDurationMs,
      this.clock,
      this.timers,
      this.out,
      () => {
        if (isRunning(this.stage)) this.keyWatch.restart();
      },
    );
    this.problems = new ElectionProblems(
      this.options,
      this.clock,
      this.logger,
      this.out,
      this.leader,
    );
    const context: ElectionContext = {
      options: this.options,
      instanceId: this.instanceId,
      port: this.port,
      clock: this.clock,
      logger: this.logger,
      problems: this.problems,
      timers: this.timers,
    };
    this.watchContext = {
      ...context,
      lifetime: this.lifetime.signal,
      running: () => isRunning(this.stage),
      sleep: (ms) => this.sleep(ms),
    };
    this.candidacy = new Candidacy({
      ...context,
      running: () => isRunning(this.stage),
      onSessionReady: () => {
        this.onFirstSession?.();
        this.campaign.consider();
      },
      onSessionGone: (session) => {
        // Consul no longer knows our session: the key watch may be ahead of a wiped store.
        this.keyWatch.restart();
        if (holdingOf(this.stage)?.session === session) this.hold.endTerm('session-lost');
      },
    });
    this.release = new KeyRelease({
      ...context,
      queue: this.candidacy.queue,
      isCurrent: (session) => this.candidacy.session === session,
      mayGoOn: (session) => this.candidacy.session === session && this.stage.kind === 'following',
      sleep: (ms) => this.sleep(ms),
      lastHolderLeaseMs: () => this.keyWatch.lastHolderLeaseMs,
      onReleaseSettled: () => this.campaign.consider(),
      giveUp: (session, refused) => this.candidacy.giveUp(session, refused),
    });
    this.campaign = new Campaign({
      ...context,
      running: () => isRunning(this.stage),
      holding: () => this.stage.kind === 'holding',
      session: () => this.candidacy.session,
      releasing: () => this.release.inFlight > 0,
      observation: () => this.keyWatch.observation,
      lastHolderLeaseMs: () => this.keyWatch.lastHolderLeaseMs,
      released: (session, modifyIndex) => this.release.released(session, modifyIndex),
      release: (session, hold, claim) => void this.release.release(session, hold, claim),
      onSessionLost: (session) => this.candidacy.lost(session),
      giveUp: (session, refused) =>
        this.candidacy.giveUp(
          session,
          refused,
          ElectionMessages.unknownAcquireForbiddenSessionDestroyed,
        ),
      onAcquired: (takeover) => this.hold.onAcquired(takeover),
      onAcquiredWhileStopping: (acquired) => {
        if (this.stage.kind === 'stopping') this.stage = { kind: 'stopping', acquired };
      },
    });
    this.successors = new SuccessorNaming({
      ...context,
      watchContext: this.watchContext,
      holds: (holding) => holdingOf(this.stage) === holding,
    });
    this.hold = new Hold({
      ...context,
      out: this.out,
      leader: this.leader,
      stage: () => this.stage,
      enter: (stage) => (this.stage = stage),
      noLocalAgent: () => this.candidacy.noLocalAgent,
      successors: this.successors,
      release: (session, hold, claim) => void this.release.release(session, hold, claim),
      onSessionLost: (session) => this.candidacy.lost(session),
      onTermBegan: () => this.keyWatch.termBegan(),
      onStepDown: () => this.campaign.consider(),
    });
    this.keyWatch = new KeyWatch(this.watchContext, this.port, () => this.candidacy.session?.id, {
      onRead: (observation, holderValue) => this.onKeyRead(observation, holderValue),
      // Campaigns wait for a fresh read.
      onForget: () => this.campaign.cancel(),
      onReadFailed: (error) => this.campaign.onKeyReadFailed(error),
    });
    this.state$ = this.out.state$;
    this.events$ = this.out.events$;
  }

  get state(): LeadershipState {
    return this.out.state;
  }

  /** True only while this instance leads and its lease has not run out — checked against the clocks now. */
  isLeader(): boolean {
    return this.hold.isLeader();
  }

  /** The monotonic deadline of the current lease, or null when not holding the key. */
  get stepDownDeadline(): number | null {
    return holdingOf(this.stage)?.lease.deadline ?? null;
  }

  /**
   * Joins the election. Without `failFast` the promise resolves at once (watch {@link state$} or
   * await {@link whenSettled}). With `failFast` it resolves once Consul has answered as it should
   * (a session opened, or the first outcome), and rejects with an {@link ElectionStartError}, the
   * election stopped, when the first answers show a misconfiguration (the address is not a Consul
   * agent, Consul refuses the session TTL, a malformed request).
   */
  async start(): Promise<void> {
    if (this.stage.kind !== 'idle') return;
    this.stage = { kind: 'following' };
    const sessionOpened = this.options.failFast
      ? new Promise<null>((resolve) => (this.onFirstSession = () => resolve(null)))
      : null;
    void this.keyWatch.watch();
    // The session is opened up front, so that taking a free key costs a single request.
    this.candidacy.keep();
    if (!sessionOpened) return;
    const outcome = await Promise.race([this.whenSettled(), sessionOpened]);
    this.onFirstSession = null;
    if (outcome?.problem?.kind !== 'misconfigured') return;
    await this.stop();
    throw new ElectionStartError(this.options.key, outcome.problem);
  }

  /** Resolves at the first outcome: leader, a follower that has read the key, or a problem with Consul. */
  whenSettled(): Promise<LeadershipState> {
    return this.out.whenSettled();
  }

  /**
   * Steps down now (the term's signal aborts), waits for `drain` (in-flight leader work) up to
   * `drainTimeout`, releases the key so that another candidate leads at once, and keeps this
   * instance from campaigning for `pause` (default: the `resignPause` option). The release carries
   * the "released" marker only when the work drained: otherwise the successor waits out the lease.
   */
  async resign(options: { pause?: Duration; drain?: () => Promise<unknown> } = {}): Promise<void> {
    const pauseMs =
      options.pause === undefined ? this.options.resignPauseMs : parseDuration(options.pause);
    if (pauseMs === undefined) {
      throw new ElectionOptionsError(
        'pause',
        ElectionMessages.optionOutOfRange('pause', options.pause, 'a duration'),
      );
    }
    if (!isRunning(this.stage)) return;
    this.campaign.pauseUntil(this.clock.now() + pauseMs);
    this.campaign.cancel();
    this.timers.later(() => this.campaign.consider(), pauseMs + 1);
    const holding = holdingOf(this.stage);
    if (!holding) return;
    const acted = holding.term !== null;
    this.hold.endTerm('resign');
    const drained = options.drain
      ? drainWithin(this.options, this.clock, this.logger, options.drain)
      : Promise.resolve(true);
    await releaseAfterResign(this.release, holding, acted, drained);
  }

  /**
   * Leaves the election gracefully: steps down locally first (the term's signal aborts and
   * {@link isLeader} turns false), waits for `drain` (in-flight leader work) up to `drainTimeout`,
   * then releases the key — marked as released, so a follower leads within milliseconds — and
   * destroys the session. Never throws for Consul errors: they are logged.
   */
  async stop(options: { drain?: () => Promise<unknown> } = {}): Promise<void> {
    if (this.stage.kind === 'stopped' || this.stage.kind === 'stopping') return this.whenStopped();
    const wasRunning = isRunning(this.stage);
    const holding = holdingOf(this.stage);
    this.stage = { kind: 'stopping', acquired: null };
    this.campaign.cancel();
    const acted = holding?.term != null;
    if (holding) this.hold.finishTerm(holding, 'stop');
    const workDrained = options.drain
      ? await drainWithin(this.options, this.clock, this.logger, options.drain)
      : true;
    this.lifetime.abort();
    // No read of the key from here on (and no timer to drop a stale one): stop() may still wait
    // out its release and session requests against a Consul that does not answer.
    this.leader.forget();
    this.timers.dispose();
    await this.campaign.settled();
    await this.candidacy.queue.idle();
    const held = holding
      ? heldKeyOf(holding, mayClaimReleased({ acted, workDrained, vacancy: holding.vacancy }))
      : (this.release.releasing ?? this.acquiredWhileStopping());
    if (wasRunning) {
      const session = this.candidacy.take();
      if (session) await this.release.leave(session, held);
    }
    this.stage = { kind: 'stopped' };
    this.out.publish({ role: 'stopped', term: null, stepDownDeadline: null });
    this.out.complete();
    if (this.ownsPort) this.port.close();
    if (wasRunning) this.logger.log(ElectionMessages.left(this.options.key));
  }

  /** A hold an acquire or adoption in flight won after stop() began: stop() releases it. */
  private acquiredWhileStopping(): HeldKey | null {
    return this.stage.kind === 'stopping' ? this.stage.acquired : null;
  }

  private whenStopped(): Promise<void> {
    return this.out.whenCompleted();
  }

  // ---------------------------------------------------------------- watching the key

  /** What the election does with each read of the key: the hold's view of it, then a campaign. */
  private onKeyRead(observation: Observation, holderValue: LeaderValue | null): void {
    const { entry } = observation;
    if (entry?.session) this.campaign.onKeyHeld();
    this.hold.onKeyRead(observation, holderValue);
    // Settled once the outcome is known: someone else leads (our own lead settles in beginTerm).
    if (entry?.session && entry.session !== this.candidacy.session?.id) this.out.markSettled();
    this.campaign.consider();
  }

  // ---------------------------------------------------------------- state, problems, helpers

  /** Resolves after `ms`, or at once when the election stops. */
  private sleep(ms: number): Promise<void> {
    if (!isRunning(this.stage)) return Promise.resolve();
    return this.timers.sleep(ms);
  }
}
