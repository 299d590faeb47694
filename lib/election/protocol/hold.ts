import type { HoldHost } from './hold-host';
import { setMaxListeners } from 'node:events';
import { LeadershipLostError, type Holding, type StepDownReason, type Takeover } from './holding';
import { classify } from '../consul/consul-request.error';
import type { TimerSlot } from '../time/election-timers';
import { Backoff, MIN_RETRY_INTERVAL_MS } from '../time/backoff';
import { holdingOf, isRunning } from './election-stage';
import { ElectionMessages } from '../election.messages';
import { viewOfRead } from './hold-read';
import type { Observation } from '../watch/key-watch';
import { Lease, instantOf } from './lease';
import { toLeaderInfo, type LeaderValue } from './leader-value';
import { CandidateLeases } from './candidate-leases';
import { leaseWaitMs } from './takeover';

/**
 * The key while this instance holds it (SAFETY.md rules 1 and 2): the act time (a term begins only
 * at `actAt`), the confirm loop that extends the lease from each confirmation's send time, the
 * deadline that ends the term, and the step-down. One hold at a time, in {@link current}.
 */
export class Hold {
  private termCount = 0;
  private readonly confirmTimer: TimerSlot;
  private readonly deadlineTimer: TimerSlot;
  private readonly actTimer: TimerSlot;
  /**
   * The confirmation's retries: from retry.initialDelay, never longer than renewInterval (the lease
   * leaves room for a retry within it), never sooner than the retry floor (or renewInterval, if
   * shorter). Without it, a consistent read refused fast (500, 429) was retried every initialDelay
   * until the deadline: 91 a second with a 30 s lease and a 10 ms initialDelay.
   */
  private readonly confirmBackoff: Backoff;
  private readonly leases: CandidateLeases;

  constructor(private readonly host: HoldHost) {
    this.leases = new CandidateLeases(host);
    this.confirmTimer = host.timers.slot();
    this.deadlineTimer = host.timers.slot();
    this.actTimer = host.timers.slot();
    const { renewIntervalMs, retry } = host.options;
    this.confirmBackoff = new Backoff(
      Math.min(retry.initialDelayMs, renewIntervalMs),
      renewIntervalMs,
      Math.random,
      Math.min(MIN_RETRY_INTERVAL_MS, renewIntervalMs),
    );
  }

  /** The hold, from the acquire until the step-down; null while not holding the key. */
  get current(): Holding | null {
    return holdingOf(this.host.stage());
  }

  /** True only while this instance leads and its lease has not run out — checked against the clocks now. */
  isLeader(): boolean {
    const holding = this.current;
    if (holding?.term == null) return false;
    if (holding.lease.isValidAt(this.host.clock.now(), this.host.clock.wallNow())) return true;
    // The lease ran out by a clock the deadline timer does not follow (the wall clock, after a
    // suspend): end the term now rather than when the monotonic timer catches up.
    queueMicrotask(() => {
      if (
        this.current === holding &&
        !holding.lease.isValidAt(this.host.clock.now(), this.host.clock.wallNow())
      )
        this.stepDown('deadline');
    });
    return false;
  }

  /** The hold's view of a read of the key: who leads, the index to release at, whether we lost it. */
  onKeyRead(observation: Observation, holderValue: LeaderValue | null): void {
    viewOfRead(this.host, this.current, observation, holderValue, (reason) =>
      this.stepDown(reason),
    );
  }

  onAcquired(takeover: Takeover): void {
    const { session, fencingToken, actAt } = takeover;
    const holding: Holding = {
      session,
      fencingToken,
      acquiredIndex: takeover.modifyIndex,
      value: takeover.value,
      ended: new AbortController(),
      previousHolder: takeover.previousHolder,
      lease: new Lease(this.host.options.leaseDurationMs, takeover.leaseFrom),
      vacancy: takeover.vacancy,
      actAt,
      successorWaitMs: takeover.successorWaitMs,
      leaseIsOwn: false,
      term: null,
    };
    this.host.enter({ kind: 'holding', holding });
    // Leading: Consul should notice a crash within the short check TTL from now on.
    session.setMode('leading');
    if (this.host.options.healthCheck && !this.host.noLocalAgent())
      void this.host.successors.watch(holding);
    if (takeover.overwritten) this.host.successors.found(holding, null, takeover.modifyIndex);
    // Consul's answer to our acquire is a read of the key too: we hold it.
    this.host.leader.read(toLeaderInfo(takeover.value, fencingToken));
    this.host.out.publish({ stepDownDeadline: holding.lease.deadline });
    this.armDeadline();
    this.confirmBackoff.reset();
    this.scheduleConfirm(this.host.options.renewIntervalMs);
    if (takeover.leasesUnknown) return this.learnLeases(holding, takeover);
    const waitMs = actAt - this.host.clock.now();
    if (waitMs > 0) {
      this.host.logger.log(
        takeover.neverSeenHeld
          ? ElectionMessages.acquiredAbsentWaiting(this.host.options.key, fencingToken, waitMs)
          : ElectionMessages.acquiredWaiting(this.host.options.key, fencingToken, waitMs),
      );
      this.armActTimer(holding);
    } else {
      this.beginTerm(holding);
    }
  }

  /**
   * A key taken absent: acts at the longest lease allowed unless the catalog names the leases of the
   * key's candidates first; then from the acquire's answer + the longest of those and the ones we
   * knew, which the key's value then advertises to our successor too (SAFETY.md, rule 2).
   */
  private learnLeases(holding: Holding, takeover: Takeover): void {
    this.armActTimer(holding);
    const { from, knownMs } = takeover.leasesUnknown!;
    this.leases.learn(
      () => this.current === holding && !holding.term,
      (longestMs) => {
        const owedMs = Math.max(knownMs, longestMs);
        holding.actAt = Math.min(holding.actAt, from + leaseWaitMs(owedMs, undefined));
        if (owedMs > holding.successorWaitMs) {
          holding.successorWaitMs = owedMs;
          this.host.successors.leaseOwed(holding);
        }
        const waitMs = holding.actAt - this.host.clock.now();
        if (waitMs <= 0) return this.beginTerm(holding);
        this.host.logger.log(
          takeover.neverSeenHeld
            ? ElectionMessages.acquiredAbsentWaiting(
                this.host.options.key,
                holding.fencingToken,
                waitMs,
              )
            : ElectionMessages.acquiredWaiting(this.host.options.key, holding.fencingToken, waitMs),
        );
        this.armActTimer(holding);
      },
    );
  }

  private armActTimer(holding: Holding): void {
    this.actTimer.arm(() => this.beginTerm(holding), holding.actAt - this.host.clock.now());
  }

  private beginTerm(holding: Holding): void {
    if (this.current !== holding || holding.term) return;
    const now = instantOf(this.host.clock);
    if (!holding.lease.isValidAt(now.mono, now.wall)) return;
    // Timers may fire a little early against performance.now(): never act before actAt.
    if (now.mono < holding.actAt) return this.armActTimer(holding);
    // We waited out the lease of whoever held the key before us: it has stopped acting, so a
    // successor now owes only our own D. The key says so too, or the longer lease would be
    // inherited from holder to holder for as long as the key lives.
    holding.successorWaitMs = this.host.options.leaseDurationMs;
    holding.leaseIsOwn = true;
    this.host.successors.termBegan(holding);
    this.host.onTermBegan();
    const controller = new AbortController();
    // Every @ClusterCron job, run and @LeaderOnly call of the term listens to its signal: no limit
    // (Node warns past 10 listeners on an EventTarget, as a leak, which here it is not).
    try {
      setMaxListeners(0, controller.signal);
    } catch {
      // A sandbox whose AbortSignal is not Node's EventTarget (a jest or vm realm) has no limit.
    }
    this.termCount += 1;
    holding.term = {
      fencingToken: holding.fencingToken,
      number: this.termCount,
      startedAt: new Date(this.host.clock.wallNow()),
      signal: controller.signal,
      controller,
    };
    const { controller: _controller, ...term } = holding.term;
    this.host.out.publish({ role: 'leader', term, stepDownDeadline: holding.lease.deadline });
    this.host.out.markSettled();
    this.host.out.emit({ type: 'transition', reason: 'acquired' });
    this.host.logger.log(
      ElectionMessages.becameLeader(this.host.options.key, holding.fencingToken, this.termCount),
    );
  }

  // ---------------------------------------------------------------- holding: confirm, deadline, step down

  private scheduleConfirm(delayMs: number): void {
    this.confirmTimer.arm(() => void this.confirmHold(), delayMs);
  }

  private async confirmHold(): Promise<void> {
    const holding = this.current;
    if (!holding) return;
    const sent = instantOf(this.host.clock);
    // A lease never comes back to life: one that ran out while no timer could fire (a suspend) ends
    // the term now, even if Consul would still confirm the hold — a successor may have acted since.
    if (!holding.lease.isValidAt(sent.mono, sent.wall)) {
      this.host.logger.warn(
        ElectionMessages.leaseRanOut(this.host.options.key, this.host.options.leaseDurationMs),
      );
      this.stepDown('deadline');
      return;
    }
    let confirmed: boolean;
    try {
      confirmed = await this.host.port.confirmHolding(
        this.host.options.key,
        holding.session.id,
        this.host.options.requestTimeoutMs,
      );
    } catch (error) {
      if (this.current !== holding) return;
      this.host.out.emit({
        type: 'confirmation',
        durationMs: this.host.clock.now() - sent.mono,
        confirmed: false,
      });
      this.host.problems.reportProblem('confirm', classify(error, 'hold confirmation'));
      // Retry soon, backing off: the lease leaves room for one more try before the deadline.
      this.scheduleConfirm(this.confirmBackoff.nextAfter(error));
      return;
    }
    this.host.out.emit({
      type: 'confirmation',
      durationMs: this.host.clock.now() - sent.mono,
      confirmed,
    });
    if (this.current !== holding) return;
    this.host.problems.reportSuccess('confirm');
    this.confirmBackoff.reset();
    if (!confirmed) {
      this.host.logger.warn(ElectionMessages.holdNotConfirmed(this.host.options.key));
      this.stepDown('lost');
      return;
    }
    holding.lease.confirm(sent);
    this.armDeadline();
    this.host.out.publish({ stepDownDeadline: holding.lease.deadline });
    this.scheduleConfirm(this.host.options.renewIntervalMs);
  }

  /** A timer at the lease deadline; {@link isLeader} checks the clock too, so a late timer is harmless. */
  private armDeadline(): void {
    const holding = this.current;
    if (!holding) return;
    this.deadlineTimer.arm(
      () => {
        if (this.current !== holding) return;
        if (holding.lease.isValidAt(this.host.clock.now(), this.host.clock.wallNow()))
          return this.armDeadline();
        this.host.logger.warn(
          ElectionMessages.leaseRanOut(this.host.options.key, this.host.options.leaseDurationMs),
        );
        this.stepDown('deadline');
      },
      holding.lease.remainingAt(instantOf(this.host.clock)),
    );
  }

  /** Ends the term locally at once, then lets go of the key in the background where it may still be ours. */
  stepDown(reason: StepDownReason): void {
    const holding = this.current;
    if (!holding) return;
    this.endTerm(reason);
    if (reason === 'deadline') {
      // Consul may still hold the key for our session: release it, so the next holder need not wait
      // for the session's invalidation and lock-delay — without the marker, since leader work of the
      // term may still run (we cannot tell) and the next holder must wait out our lease.
      this.host.release(holding.session, holding, Promise.resolve(false));
      return;
    }
    // 'lost', 'session-lost': the key is someone else's (or gone); nothing to release.
    holding.session.setMode('standby');
    this.host.onStepDown();
  }

  /** Ends the term of the hold there is, if any: the election follows. */
  endTerm(reason: StepDownReason): void {
    const holding = this.current;
    if (!holding) return;
    this.host.enter({ kind: 'following' });
    this.finishTerm(holding, reason);
  }

  /** Ends the term of `holding`, which the stage no longer holds (stop() left it already). */
  finishTerm(holding: Holding, reason: StepDownReason): void {
    holding.ended.abort();
    // A release writes the hold's value: with the successors named last, not those last answered.
    holding.value = this.host.successors.releaseValue(holding);
    this.confirmTimer.clear();
    this.host.problems.loopStopped('confirm');
    this.deadlineTimer.clear();
    this.actTimer.clear();
    const hadTerm = holding.term !== null;
    holding.term?.controller.abort(new LeadershipLostError(reason));
    holding.term = null;
    this.host.out.publish({
      // Running or stopping: a step-down leaves a follower (after stop, the role stays "stopped").
      role:
        isRunning(this.host.stage()) || this.host.stage().kind === 'stopping'
          ? 'follower'
          : this.host.out.state.role,
      term: null,
      stepDownDeadline: null,
      // Whatever the reason, we cannot vouch for ourselves any more: a step-down for the deadline
      // happens while Consul may hand the key on (issue 18, defect 5); the next read says who leads.
      ...this.host.leader.endedPatch(this.host.instanceId, holding.fencingToken),
    });
    if (hadTerm) {
      this.host.logger.log(ElectionMessages.steppedDown(this.host.options.key, reason));
      this.host.out.emit({ type: 'transition', reason });
    }
  }
}
