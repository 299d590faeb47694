import type { Observable } from 'rxjs';
import { systemClock, type Clock, type TimerHandle } from './clock';
import type { ConsulPort } from './consul-port';
import { classify } from './consul-request.error';
import { parseDuration, type Duration } from './duration';
import type { ElectionLogger, ElectionOptions, ResolvedElectionOptions } from './election-options';
import type { ElectionEvent } from './election-event';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from './election.messages';
import { Lease, type Instant } from './lease';
import { toLeaderInfo, type LeaderValue } from './leader-value';
import type { LeadershipState } from './leadership-state';
import { NodeConsulPort } from './node-consul.port';
import { ElectionProblems } from './election-problems';
import { ElectionTimers, type TimerSlot } from './election-timers';
import type { WatchContext } from './blocking-watch';
import { KeyWatch, type Observation } from './key-watch';
import { heldKeyOf, KeyRelease } from './release';
import { Campaign } from './campaign';
import { Candidacy } from './candidacy';
import { LeadershipLostError, type Holding, type StepDownReason, type Takeover } from './hold';
import { SuccessorNaming } from './successors';
import { resolveElectionOptions } from './resolve-election-options';
import { StatePublisher } from './state-publisher';
import { mayClaimReleased, vacancyOf } from './takeover';

/**
 * One candidate in a leader election on one Consul key: the Consul recipe (session, `acquire`, blocking
 * watch) with a local lease that makes a leader step down before Consul could hand the key to another.
 *
 * Safety (SAFETY.md beside this file): the leader acts only while `now < sent + D` on both clocks,
 * `sent` being the send time of its last confirmation (`check-session` transaction) that Consul
 * answered yes. A candidate that takes over a key acts only once the previous holder's lease has run
 * out (takeover.ts, actTime), unless that holder released it with a marker it was entitled to write
 * (mayClaimReleased). Lock-delay ≥ D is a second layer; the fencing token is the acquire's ModifyIndex.
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

  private phase: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private readonly keyWatch: KeyWatch;
  /**
   * The last hold this instance released, by session: a read showing it is from before the release,
   * not a lost answer. Per session, since indexes start over on an agent that forgot its state.
   */
  private readonly candidacy: Candidacy;
  private readonly release: KeyRelease;
  private readonly successors: SuccessorNaming;
  private holding: Holding | null = null;
  private readonly campaign: Campaign;
  private readonly timers: ElectionTimers;
  private readonly confirmTimer: TimerSlot;
  private readonly deadlineTimer: TimerSlot;
  private readonly actTimer: TimerSlot;
  private termCount = 0;
  private readonly problems: ElectionProblems;

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
    this.confirmTimer = this.timers.slot();
    this.deadlineTimer = this.timers.slot();
    this.actTimer = this.timers.slot();
    this.out = new StatePublisher(this.instanceId);
    this.problems = new ElectionProblems(this.options, this.clock, this.logger, this.out);
    this.watchContext = {
      options: this.options,
      clock: this.clock,
      lifetime: this.lifetime.signal,
      running: () => this.phase === 'running',
      sleep: (ms) => this.sleep(ms),
      problems: this.problems,
    };
    this.candidacy = new Candidacy({
      options: this.options,
      instanceId: this.instanceId,
      port: this.port,
      clock: this.clock,
      logger: this.logger,
      problems: this.problems,
      timers: this.timers,
      running: () => this.phase === 'running',
      onSessionReady: () => this.campaign.consider(),
      onSessionGone: (session) => {
        if (this.holding?.session === session) this.endTerm('session-lost');
      },
    });
    this.release = new KeyRelease({
      options: this.options,
      instanceId: this.instanceId,
      port: this.port,
      clock: this.clock,
      logger: this.logger,
      problems: this.problems,
      timers: this.timers,
      queue: this.candidacy.queue,
      isCurrent: (session) => this.candidacy.session === session,
      mayGoOn: (session) =>
        this.candidacy.session === session && !this.holding && this.phase === 'running',
      sleep: (ms) => this.sleep(ms),
      lastHolderLeaseMs: () => this.keyWatch.lastHolderLeaseMs,
      onReleaseSettled: () => this.campaign.consider(),
    });
    this.campaign = new Campaign({
      options: this.options,
      instanceId: this.instanceId,
      port: this.port,
      clock: this.clock,
      logger: this.logger,
      problems: this.problems,
      timers: this.timers,
      running: () => this.phase === 'running',
      holding: () => this.holding !== null,
      session: () => this.candidacy.session,
      releasing: () => this.release.inFlight > 0,
      observation: () => this.keyWatch.observation,
      lastHolderLeaseMs: () => this.keyWatch.lastHolderLeaseMs,
      released: (session, modifyIndex) => this.release.released(session, modifyIndex),
      release: (session, hold, claim) => void this.release.release(session, hold, claim),
      onSessionLost: (session) => this.candidacy.lost(session),
      onAcquired: (takeover) => this.onAcquired(takeover),
    });
    this.successors = new SuccessorNaming({
      options: this.options,
      instanceId: this.instanceId,
      port: this.port,
      logger: this.logger,
      watchContext: this.watchContext,
      holds: (holding) => this.holding === holding,
    });
    this.keyWatch = new KeyWatch(this.watchContext, this.port, this.instanceId, {
      onRead: (observation, holderValue) => this.onKeyRead(observation, holderValue),
      // Campaigns wait for a fresh read.
      onForget: () => this.campaign.cancel(),
    });
    this.state$ = this.out.state$;
    this.events$ = this.out.events$;
  }

  get state(): LeadershipState {
    return this.out.state;
  }

  /** True only while this instance leads and its lease has not run out — checked against the clocks now. */
  isLeader(): boolean {
    const holding = this.holding;
    if (holding?.term == null) return false;
    if (holding.lease.isValidAt(this.clock.now(), this.clock.wallNow())) return true;
    // The lease ran out by a clock the deadline timer does not follow (the wall clock, after a
    // suspend): end the term now rather than when the monotonic timer catches up.
    queueMicrotask(() => {
      if (
        this.holding === holding &&
        !holding.lease.isValidAt(this.clock.now(), this.clock.wallNow())
      )
        this.stepDown('deadline');
    });
    return false;
  }

  /** The monotonic deadline of the current lease, or null when not holding the key. */
  get stepDownDeadline(): number | null {
    return this.holding?.lease.deadline ?? null;
  }

  /** Joins the election. Returns at once; watch {@link state$} or await {@link whenSettled}. */
  start(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'running';
    void this.keyWatch.watch();
    // The session is opened up front, so that taking a free key costs a single request.
    this.candidacy.keep();
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
    if (this.phase !== 'running') return;
    this.campaign.pauseUntil(this.clock.now() + pauseMs);
    this.campaign.cancel();
    this.timers.later(() => this.campaign.consider(), pauseMs + 1);
    const holding = this.holding;
    if (!holding) return;
    const acted = holding.term !== null;
    this.endTerm('resign');
    const drained = options.drain ? this.drain(options.drain) : Promise.resolve(true);
    let attempted = (): void => undefined;
    const firstAttempt = new Promise<void>((resolve) => (attempted = resolve));
    const released = this.release.release(
      holding.session,
      holding,
      drained.then((workDrained) =>
        mayClaimReleased({ acted, workDrained, vacancy: holding.vacancy }),
      ),
      attempted,
    );
    // Resolves once Consul answered the first release; when it refused, the retries go on in the
    // background with backoff, and resign() does not hang on a Consul that keeps refusing.
    await Promise.race([released, firstAttempt]);
  }

  /**
   * Leaves the election gracefully: steps down locally first (the term's signal aborts and
   * {@link isLeader} turns false), waits for `drain` (in-flight leader work) up to `drainTimeout`,
   * then releases the key — marked as released, so a follower leads within milliseconds — and
   * destroys the session. Never throws for Consul errors: they are logged.
   */
  async stop(options: { drain?: () => Promise<unknown> } = {}): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return this.whenStopped();
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    this.campaign.cancel();
    const holding = this.holding;
    const acted = holding?.term != null;
    if (holding) this.endTerm('stop');
    const workDrained = options.drain ? await this.drain(options.drain) : true;
    this.lifetime.abort();
    this.timers.dispose();
    await this.campaign.settled();
    await this.candidacy.queue.idle();
    const held = holding
      ? heldKeyOf(holding, mayClaimReleased({ acted, workDrained, vacancy: holding.vacancy }))
      : (this.release.releasing ?? this.campaign.acquiredWhileStopping);
    if (wasRunning) {
      const session = this.candidacy.take();
      if (session) await this.release.leave(session, held);
    }
    this.phase = 'stopped';
    this.out.publish({ role: 'stopped', term: null, stepDownDeadline: null });
    this.out.complete();
    if (this.ownsPort) this.port.close();
    if (wasRunning) this.logger.log(ElectionMessages.left(this.options.key));
  }

  private whenStopped(): Promise<void> {
    return this.out.whenCompleted();
  }

  // ---------------------------------------------------------------- watching the key

  /** What the election does with each read of the key: the hold's view of it, then a campaign. */
  private onKeyRead(observation: Observation, holderValue: LeaderValue | null): void {
    const { entry } = observation;
    if (entry?.session) this.campaign.onKeyHeld();
    const holding = this.holding;
    // A read older than our acquire knows nothing of it: it neither names the leader nor unseats us.
    const current = !holding || observation.index >= holding.acquiredIndex;
    const ours = !!holding && entry?.session === holding.session.id;
    if (current) {
      const leader = !entry?.session
        ? null
        : ours
          ? toLeaderInfo(holding.value, holding.fencingToken)
          : toLeaderInfo(holderValue, holderValue?.token ?? entry.modifyIndex);
      this.out.publish({ leader });
    }
    if (holding && current && ours && entry.modifyIndex > holding.acquiredIndex) {
      // Written under our session by someone else (an operator's PUT), or our own rewrite whose
      // answer was lost: the release must be conditioned on what is there now.
      holding.acquiredIndex = entry.modifyIndex;
      // Someone else's value under our session: write ours back. A follower that first sees the
      // hold after it learns the term's token only from our value, and on LockIndex 0 it trusts
      // our release's marker only when it names that token (SAFETY.md, rule 3); it also shows
      // followers who leads again.
      if (holderValue?.instanceId !== this.instanceId || holderValue.token !== holding.fencingToken)
        void this.successors.rewriteValue(holding, holding.value, "write the leader's value back");
    }
    if (holding && current && !ours) {
      if (
        entry &&
        !entry.session &&
        holderValue?.instanceId === this.instanceId &&
        vacancyOf(entry, observation.heldBefore) === 'invalidated'
      ) {
        // Consul freed the key itself and kept our value: it invalidated our session (destroyed,
        // or its check or TTL ran out). Say so, and open a new one now rather than at the next
        // renewal; destroying it is a no-op for a session that is gone.
        this.port
          .destroySession(holding.session.id, this.options.requestTimeoutMs)
          .catch(() => undefined);
        this.candidacy.lost(holding.session);
      } else {
        this.logger.warn(ElectionMessages.keyLost(this.options.key));
        this.stepDown('lost');
      }
    }
    // Settled once the outcome is known: someone else leads (our own lead settles in beginTerm).
    if (entry?.session && entry.session !== this.candidacy.session?.id) this.out.markSettled();
    this.campaign.consider();
  }

  private onAcquired(takeover: Takeover): void {
    const { session, fencingToken, actAt } = takeover;
    const holding: Holding = {
      session,
      fencingToken,
      acquiredIndex: takeover.modifyIndex,
      value: takeover.value,
      ended: new AbortController(),
      previousHolder: takeover.previousHolder,
      lease: new Lease(this.options.leaseDurationMs, takeover.leaseFrom),
      vacancy: takeover.vacancy,
      actAt,
      successorWaitMs: takeover.successorWaitMs,
      term: null,
    };
    this.holding = holding;
    // Leading: Consul should notice a crash within the short check TTL from now on.
    session.setMode('leading');
    if (this.options.healthCheck && !this.candidacy.noLocalAgent)
      void this.successors.watch(holding);
    this.out.publish({
      leader: toLeaderInfo(takeover.value, fencingToken),
      stepDownDeadline: holding.lease.deadline,
    });
    this.armDeadline();
    this.scheduleConfirm(this.options.renewIntervalMs);
    const waitMs = actAt - this.clock.now();
    if (waitMs > 0) {
      this.logger.log(ElectionMessages.acquiredWaiting(this.options.key, fencingToken, waitMs));
      this.armActTimer(holding);
    } else {
      this.beginTerm(holding);
    }
  }

  private armActTimer(holding: Holding): void {
    this.actTimer.arm(() => this.beginTerm(holding), holding.actAt - this.clock.now());
  }

  private beginTerm(holding: Holding): void {
    if (this.holding !== holding || holding.term) return;
    const now = this.instant();
    if (!holding.lease.isValidAt(now.mono, now.wall)) return;
    // Timers may fire a little early against performance.now(): never act before actAt.
    if (now.mono < holding.actAt) return this.armActTimer(holding);
    const controller = new AbortController();
    this.termCount += 1;
    holding.term = {
      fencingToken: holding.fencingToken,
      number: this.termCount,
      startedAt: new Date(this.clock.wallNow()),
      signal: controller.signal,
      controller,
    };
    const { controller: _controller, ...term } = holding.term;
    this.out.publish({ role: 'leader', term, stepDownDeadline: holding.lease.deadline });
    this.out.markSettled();
    this.out.emit({ type: 'transition', reason: 'acquired' });
    this.logger.log(
      ElectionMessages.becameLeader(this.options.key, holding.fencingToken, this.termCount),
    );
  }

  // ---------------------------------------------------------------- holding: confirm, deadline, step down

  private scheduleConfirm(delayMs: number): void {
    this.confirmTimer.arm(() => void this.confirmHold(), delayMs);
  }

  private async confirmHold(): Promise<void> {
    const holding = this.holding;
    if (!holding) return;
    const sent = this.instant();
    // A lease never comes back to life: one that ran out while no timer could fire (a suspend) ends
    // the term now, even if Consul would still confirm the hold — a successor may have acted since.
    if (!holding.lease.isValidAt(sent.mono, sent.wall)) {
      this.logger.warn(
        ElectionMessages.leaseRanOut(this.options.key, this.options.leaseDurationMs),
      );
      this.stepDown('deadline');
      return;
    }
    let confirmed: boolean;
    try {
      confirmed = await this.port.confirmHolding(
        this.options.key,
        holding.session.id,
        this.options.requestTimeoutMs,
      );
    } catch (error) {
      if (this.holding !== holding) return;
      this.out.emit({
        type: 'confirmation',
        durationMs: this.clock.now() - sent.mono,
        confirmed: false,
      });
      this.problems.reportProblem('confirm', classify(error, 'hold confirmation'));
      // Retry soon: the lease leaves room for one more try before the deadline.
      this.scheduleConfirm(
        Math.min(this.options.retry.initialDelayMs, this.options.renewIntervalMs),
      );
      return;
    }
    this.out.emit({ type: 'confirmation', durationMs: this.clock.now() - sent.mono, confirmed });
    if (this.holding !== holding) return;
    this.problems.reportSuccess('confirm');
    if (!confirmed) {
      this.logger.warn(ElectionMessages.holdNotConfirmed(this.options.key));
      this.stepDown('lost');
      return;
    }
    holding.lease.confirm(sent);
    this.armDeadline();
    this.out.publish({ stepDownDeadline: holding.lease.deadline });
    this.scheduleConfirm(this.options.renewIntervalMs);
  }

  /** A timer at the lease deadline; {@link isLeader} checks the clock too, so a late timer is harmless. */
  private armDeadline(): void {
    const holding = this.holding;
    if (!holding) return;
    this.deadlineTimer.arm(() => {
      if (this.holding !== holding) return;
      if (holding.lease.isValidAt(this.clock.now(), this.clock.wallNow()))
        return this.armDeadline();
      this.logger.warn(
        ElectionMessages.leaseRanOut(this.options.key, this.options.leaseDurationMs),
      );
      this.stepDown('deadline');
    }, holding.lease.remainingAt(this.instant()));
  }

  /** Ends the term locally at once, then lets go of the key in the background where it may still be ours. */
  private stepDown(reason: StepDownReason): void {
    const holding = this.holding;
    if (!holding) return;
    this.endTerm(reason);
    if (reason === 'deadline') {
      // Consul may still hold the key for our session: release it, so the next holder need not wait
      // for the session's invalidation and lock-delay — without the marker, since leader work of the
      // term may still run (we cannot tell) and the next holder must wait out our lease.
      void this.release.release(holding.session, holding, Promise.resolve(false));
      return;
    }
    // 'lost', 'session-lost': the key is someone else's (or gone); nothing to release.
    holding.session.setMode('standby');
    this.campaign.consider();
  }

  private endTerm(reason: StepDownReason): void {
    const holding = this.holding;
    if (!holding) return;
    this.holding = null;
    holding.ended.abort();
    this.confirmTimer.clear();
    this.deadlineTimer.clear();
    this.actTimer.clear();
    const hadTerm = holding.term !== null;
    holding.term?.controller.abort(new LeadershipLostError(reason));
    holding.term = null;
    const leaderStillUs =
      this.state.leader?.fencingToken === holding.fencingToken &&
      this.state.leader?.instanceId === this.instanceId;
    this.out.publish({
      role: this.phase === 'running' || this.phase === 'stopping' ? 'follower' : this.state.role,
      term: null,
      stepDownDeadline: null,
      ...(leaderStillUs && reason !== 'deadline' ? { leader: null } : {}),
    });
    if (hadTerm) {
      this.logger.log(ElectionMessages.steppedDown(this.options.key, reason));
      this.out.emit({ type: 'transition', reason });
    }
  }

  /** Waits for in-flight leader work up to `drainTimeout`; true when it finished in time. */
  private async drain(drain: () => Promise<unknown>): Promise<boolean> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimer(() => resolve('timeout'), this.options.drainTimeoutMs);
    });
    try {
      const outcome = await Promise.race([drain().then(() => 'drained' as const), timeout]);
      if (outcome === 'timeout') {
        this.logger.warn(
          ElectionMessages.drainTimedOut(this.options.key, this.options.drainTimeoutMs),
        );
        return false;
      }
      return true;
    } catch (error) {
      // The work is over, if badly: nothing of it still runs.
      this.logger.warn(ElectionMessages.drainFailed(this.options.key, (error as Error).message));
      return true;
    } finally {
      if (timer) this.clock.clearTimer(timer);
    }
  }

  // ---------------------------------------------------------------- state, problems, helpers

  /** Resolves after `ms`, or at once when the election stops. */
  private sleep(ms: number): Promise<void> {
    if (this.phase !== 'running') return Promise.resolve();
    return this.timers.sleep(ms);
  }

  /** Now, on both clocks (see Lease). */
  private instant(): Instant {
    return { mono: this.clock.now(), wall: this.clock.wallNow() };
  }
}
