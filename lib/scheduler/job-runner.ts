import type { ElectionLogger } from '../election/options/election-options';
import type { Clock, TimerHandle } from '../election/time/clock';
import {
  claimedRecord,
  readRecord,
  skippedRecord,
  writeRecord,
  type RecordAccess,
  type SchedulerPort,
  type WriteOutcome,
} from './claim';
import type { ClockOffset } from './clock-offset';
import type { ClusterJob, FireEvent } from './cluster-job';
import { FireReports } from './fire-reports';
import { FireRuns, messageOf } from './fire-runs';
import { FireSchedule } from './fire-times';
import { tokenOf, type ReadRecord } from './job-record';
import type { Lead, Leadership } from './leadership';
import { planFires, type FirePlan } from './misfire-plan';
import { giveUpClaim, ownerAlive, recordOrphan, type OrphanContext } from './orphan-runs';
import { SchedulerMessages } from './scheduler.messages';

export interface JobRunnerContext {
  readonly job: ClusterJob;
  readonly port: SchedulerPort;
  readonly clock: Clock;
  readonly leadership: Leadership;
  readonly instanceId: string;
  /** `jobRecordKey(electionKey, job.name)`. */
  readonly recordKey: string;
  readonly requestTimeoutMs: number;
  readonly logger: ElectionLogger;
  readonly onEvent?: (event: FireEvent) => void;
  /** Shared by the runners of one instance: every transaction's `Date` narrows it. */
  readonly clockOffset?: ClockOffset;
  /** Warn when the clock is surely further than this from Consul's (default 2 s). */
  readonly skewBoundMs?: number;
}

/** A fire started by {@link JobRunner.trigger}. */
export interface TriggeredFire {
  readonly fireTime: Date;
  readonly fencingToken: number;
}

interface PendingTrigger {
  resolve(fire: TriggeredFire): void;
  reject(error: Error): void;
}

/**
 * Runs one job's fires while this instance leads: reads the job's record, plans the fires due
 * (misfire policy, overlap, orphans), claims each in one transaction, runs it with its fencing token
 * and an AbortSignal, and records its outcome (docs/design/cluster-cron.md). The record in Consul is
 * the only truth: after any failure, lost answer or handoff, the runner reads it again and acts on
 * what it says, so no fire is run twice and none is dropped without a reason logged and counted.
 */
export class JobRunner {
  private readonly schedule: FireSchedule;
  private readonly access: RecordAccess;
  private readonly runs: FireRuns;
  private readonly reports: FireReports;
  private readonly orphans: OrphanContext;
  /** Wall-clock start: a job without a record missed no fire before it. */
  private startedAt = 0;
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  private loopDone: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => undefined;
  private skewWarned = false;
  /** A claim sent on this session whose answer was lost: the record may show it, unstarted. */
  private unresolvedClaim: { sessionId: string } | null = null;
  /** Manual fires asked for, claimed one per step once the scheduled fires due are decided. */
  private readonly triggers: PendingTrigger[] = [];
  /**
   * The skips of a decision (a skip, or a claim that skipped missed fires) whose answer was lost:
   * reported once a read shows the decision applied, so that no skip goes unlogged.
   */
  private unreportedSkips: {
    readonly plan: FirePlan | null;
    readonly overlapping: readonly number[];
  } | null = null;

  constructor(private readonly ctx: JobRunnerContext) {
    this.schedule = new FireSchedule(ctx.job.cronTime, ctx.job.timeZone);
    this.access = {
      port: ctx.port,
      recordKey: ctx.recordKey,
      timeoutMs: ctx.requestTimeoutMs,
      wallNow: () => ctx.clock.wallNow(),
      observe: (sent, received, date) => this.observeClock(sent, received, date),
    };
    this.reports = new FireReports(ctx.job.name, ctx.instanceId, ctx.logger, ctx.onEvent);
    this.runs = new FireRuns({
      job: ctx.job,
      clock: ctx.clock,
      instanceId: ctx.instanceId,
      logger: ctx.logger,
      access: this.access,
      emit: (event) => this.reports.emit(event),
      running: () => this.state === 'running',
      onSettled: () => this.wake(),
    });
    this.orphans = { ...ctx, access: this.access, reports: this.reports };
  }

  /** Fires started here and not yet recorded as ended, by token. */
  get activeTokens(): number[] {
    return this.runs.activeTokens;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.startedAt = this.ctx.clock.wallNow();
    this.unsubscribe = this.ctx.leadership.onChange(() => this.wake());
    this.loopDone = this.loop();
  }

  /** Stops claiming; aborts the signal of every run in progress and waits for them to end. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.unsubscribe();
    this.runs.abortAll(new Error(SchedulerMessages.stopped));
    this.rejectTriggers(SchedulerMessages.triggerStopped(this.ctx.job.name));
    this.wake();
    await this.loopDone;
    await this.runs.settled();
  }

  /**
   * Settles when every run started so far has ended and its outcome write has settled (without
   * stopping the runner): what a leader waits for before it releases its key.
   */
  settled(): Promise<void> {
    return this.runs.settled();
  }

  /**
   * Runs a manual fire now, claimed and fenced like a scheduled one: once the scheduled fires due
   * by now are decided, a fire at T = now (or just after the latest decided fire) is claimed in one
   * transaction under the leader's session, and runs with the token of that claim. Resolves when it
   * starts. Rejects when this instance does not lead, when the overlap policy is `skip` and a run
   * still runs, when the runner stops, or when the claim's answer is lost (the fire then runs only
   * if the claim was applied: never twice).
   */
  trigger(): Promise<TriggeredFire> {
    const name = this.ctx.job.name;
    if (this.state !== 'running')
      return Promise.reject(new Error(SchedulerMessages.triggerStopped(name)));
    if (!this.ctx.leadership.current())
      return Promise.reject(new Error(SchedulerMessages.triggerNotLeading(name)));
    return new Promise<TriggeredFire>((resolve, reject) => {
      this.triggers.push({ resolve, reject });
      this.wake();
    });
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.state === 'running') {
      const lead = this.ctx.leadership.current();
      let delay = Infinity;
      if (!lead) this.rejectTriggers(SchedulerMessages.triggerNotLeading(this.ctx.job.name));
      const unsettled =
        this.runs.unrecorded().length > 0 || this.unresolvedClaim || this.unreportedSkips;
      if (!lead && unsettled) {
        // Outcomes are written, unknown claims resolved, and the skips of a decision whose answer
        // was lost reported, whoever leads: a run left `running` in the record with its owner's
        // session alive would make the next leader skip every fire as an overlap, and a skip
        // decided here is this instance's to report (the next leader reads it as decided).
        try {
          for (const run of this.runs.unrecorded()) await this.runs.finish(run);
          if (this.unresolvedClaim) {
            const { lastStartedToken } = this.runs;
            const claim = this.unresolvedClaim;
            const onRead = (read: ReadRecord): void => this.reportIfApplied(read);
            if (await giveUpClaim(this.orphans, claim, lastStartedToken, onRead))
              this.unresolvedClaim = null;
          } else if (this.unreportedSkips) {
            this.reportIfApplied(await readRecord(this.access));
          }
          failures = 0;
          if (this.unresolvedClaim) delay = 0;
        } catch (error) {
          failures += 1;
          this.ctx.logger.warn(SchedulerMessages.stepFailed(this.ctx.job.name, messageOf(error)));
          delay = Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS);
        }
      }
      if (lead) {
        try {
          delay = await this.step(lead);
          failures = 0;
        } catch (error) {
          failures += 1;
          this.ctx.logger.warn(SchedulerMessages.stepFailed(this.ctx.job.name, messageOf(error)));
          delay = Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS);
        }
      }
      await this.sleep(delay, lead);
    }
  }

  /** One look at the record and one decision; returns how long to wait before the next look. */
  private async step(lead: Lead): Promise<number> {
    const read = await readRecord(this.access);
    this.reportIfApplied(read);
    // A term that ended while the read was on its way leaves nothing here to act on: a lost claim
    // it shows is no longer ours to run (the next leader may have orphaned it, and re-run it), so
    // the loop, no longer leading, records it orphaned instead (giveUpClaim).
    if (lead.signal.aborted || this.state !== 'running') return 0;
    // A claim of ours whose answer was lost shows in this read, and is handled below.
    this.unresolvedClaim = null;
    const run = read.record?.run ?? null;
    let runningAnywhere = false;
    let runningHere = false;
    if (run?.state === 'running') {
      const token = tokenOf(run, read.modifyIndex);
      const local = this.runs.get(token);
      if (local?.end) {
        await this.runs.finish(local);
        return 0;
      }
      if (local) {
        runningAnywhere = runningHere = true;
      } else if (run.session === lead.sessionId) {
        // Claimed on our session, yet not started here: a claim whose answer was lost, which is
        // newer than every run started here. The record says it is ours and nobody else's; it
        // runs now, once. An older token is a run of ours that ended after this read was
        // answered (the record is read again shortly; never in a tight loop).
        if (token <= this.runs.lastStartedToken) return STALE_READ_RETRY_MS;
        this.runs.begin(lead, run.fireTime, token, run.attempt);
        return 0;
      } else if (await ownerAlive(this.orphans, run.session, lead)) {
        // Its owner lives (a handoff's drain): the run may still be going.
        runningAnywhere = true;
      } else {
        const orphaned = await recordOrphan(this.orphans, lead, read, run, token, (send) =>
          this.claiming(lead, send),
        );
        if (!orphaned) return 0;
        if (!orphaned.outcome.written) return this.afterRefusal(orphaned.outcome);
        if (orphaned.rerunAttempt !== null)
          this.runs.begin(lead, run.fireTime, orphaned.outcome.modifyIndex, orphaned.rerunAttempt);
        return 0;
      }
    }
    const now = this.ctx.clock.wallNow();
    const decidedThrough = read.record?.decidedThrough ?? this.startedAt;
    const plan = planFires(
      this.schedule,
      decidedThrough,
      now,
      this.ctx.job.misfire,
      this.ctx.job.graceMs,
    );
    const next = plan.run[0];
    if (next === undefined) {
      if (plan.skipped.length > 0) return this.skip(lead, read, plan, [], 'misfire');
      if (this.triggers.length > 0) return this.claimTriggered(lead, read, now, runningAnywhere);
      return this.untilNextFire(decidedThrough, now);
    }
    if (runningAnywhere && this.ctx.job.overlap === 'skip') {
      // A fire caught up late waits for the run before it here; one on time is skipped.
      if (runningHere && now - next > this.ctx.job.graceMs) return Infinity;
      return this.skip(lead, read, plan, plan.run, 'overlap');
    }
    const written = await this.claim(lead, read, next, plan);
    if (!written.written) return this.afterRefusal(written);
    this.reports.misfires(plan);
    this.runs.begin(lead, next, written.modifyIndex, 1);
    return 0;
  }

  /** Claims a triggered fire at T = now: every scheduled fire up to now is decided already. */
  private async claimTriggered(
    lead: Lead,
    read: ReadRecord,
    now: number,
    runningAnywhere: boolean,
  ): Promise<number> {
    if (runningAnywhere && this.ctx.job.overlap === 'skip') {
      this.rejectTriggers(SchedulerMessages.triggerOverlap(this.ctx.job.name));
      return 0;
    }
    const fireTime = Math.max(now, (read.record?.decidedThrough ?? 0) + 1);
    let written: WriteOutcome;
    try {
      written = await this.claim(lead, read, fireTime, null);
    } catch (error) {
      this.rejectTriggers(
        SchedulerMessages.triggerAnswerLost(this.ctx.job.name, messageOf(error)),
        1,
      );
      throw error;
    }
    if (!written.written) return this.afterRefusal(written);
    this.triggers
      .shift()
      ?.resolve({ fireTime: new Date(fireTime), fencingToken: written.modifyIndex });
    this.runs.begin(lead, fireTime, written.modifyIndex, 1);
    return 0;
  }

  /** Claims `fireTime`, deciding the misfires the plan skipped before it in the same write. */
  private claim(
    lead: Lead,
    read: ReadRecord,
    fireTime: number,
    plan: FirePlan | null,
  ): Promise<WriteOutcome> {
    const claim = claimedRecord(
      read,
      {
        fireTime,
        attempt: 1,
        owner: this.ctx.instanceId,
        session: lead.sessionId,
        startedAt: this.ctx.clock.wallNow(),
      },
      { fireTimes: plan?.skipped ?? [], by: this.ctx.instanceId },
    );
    return this.claiming(lead, () => writeRecord(this.access, read, claim, lead), plan);
  }

  /** Decides `plan.skipped` (misfire) and `overlapping` (overlap) as skipped, in one write. */
  private async skip(
    lead: Lead,
    read: ReadRecord,
    plan: FirePlan,
    overlapping: readonly number[],
    reason: 'overlap' | 'misfire',
  ): Promise<number> {
    const fireTimes = [...plan.skipped, ...overlapping];
    const written = await this.lostAnswerReported({ plan, overlapping }, () =>
      writeRecord(
        this.access,
        read,
        skippedRecord(read, fireTimes, reason, this.ctx.instanceId),
        lead,
      ),
    );
    if (!written.written) return this.afterRefusal(written);
    this.reports.misfires(plan);
    for (const fireTime of overlapping) this.reports.skip(fireTime, 'overlap');
    return 0;
  }

  private afterRefusal(written: WriteOutcome & { written: false }): number {
    return written.reason === 'moved' ? 0 : NOT_LEADER_RETRY_MS;
  }

  /** Sends a claim; when its answer is lost, remembers that the record may hold a claim of ours. */
  private async claiming(
    lead: Lead,
    send: () => Promise<WriteOutcome>,
    plan: FirePlan | null = null,
  ): Promise<WriteOutcome> {
    try {
      return await this.lostAnswerReported({ plan, overlapping: [] }, send);
    } catch (error) {
      this.unresolvedClaim = { sessionId: lead.sessionId };
      throw error;
    }
  }

  /** Sends a decision; when its answer is lost, keeps its skips to report once it shows applied. */
  private async lostAnswerReported(
    skips: { plan: FirePlan | null; overlapping: readonly number[] },
    send: () => Promise<WriteOutcome>,
  ): Promise<WriteOutcome> {
    try {
      return await send();
    } catch (error) {
      const listed = [...(skips.plan?.skipped ?? []), ...skips.overlapping];
      if (listed.length > 0) this.unreportedSkips = skips;
      throw error;
    }
  }

  /**
   * Reports the skips of a decision whose answer was lost when `read` shows it applied: the
   * record's last skip is ours, of that decision's latest skipped fire (no later decision can have
   * replaced it: this is the first read since).
   */
  private reportIfApplied(read: ReadRecord): void {
    const pending = this.unreportedSkips;
    if (!pending) return;
    this.unreportedSkips = null;
    const last = Math.max(...(pending.plan?.skipped ?? []), ...pending.overlapping);
    const skip = read.record?.lastSkip;
    if (skip?.by !== this.ctx.instanceId || skip.fireTime !== last) return;
    if (pending.plan) this.reports.misfires(pending.plan);
    for (const fireTime of pending.overlapping) this.reports.skip(fireTime, 'overlap');
  }

  private rejectTriggers(message: string, count = Infinity): void {
    const refused = this.triggers.splice(0, count);
    for (const pending of refused) pending.reject(new Error(message));
  }

  private untilNextFire(decidedThrough: number, now: number): number {
    return Math.max(1, this.schedule.next(Math.max(decidedThrough, now)) - now);
  }

  private observeClock(sentWall: number, receivedWall: number, serverDate: number): void {
    const offset = this.ctx.clockOffset;
    if (!offset) return;
    offset.sample(sentWall, receivedWall, serverDate);
    const bound = this.ctx.skewBoundMs ?? DEFAULT_SKEW_BOUND_MS;
    const beyond = offset.beyond(bound);
    if (beyond !== null && !this.skewWarned) {
      this.ctx.logger.warn(SchedulerMessages.clockSkew(beyond, bound));
    }
    this.skewWarned = beyond !== null;
  }

  /** Waits `delayMs` (capped), or until woken: a run ended, leadership changed, the term ended. */
  private sleep(delayMs: number, lead: Lead | null): Promise<void> {
    if (this.pendingWake || this.state !== 'running') {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | null = null;
      const done = (): void => {
        if (timer) this.ctx.clock.clearTimer(timer);
        lead?.signal.removeEventListener('abort', done);
        this.wakeUp = null;
        this.pendingWake = false;
        resolve();
      };
      // The wall clock may jump: look again at least this often.
      timer = this.ctx.clock.setTimer(done, Math.min(delayMs, MAX_SLEEP_MS));
      lead?.signal.addEventListener('abort', done, { once: true });
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/** After a claim refused for leadership: the election will say so soon; look again then at the latest. */
const NOT_LEADER_RETRY_MS = 1_000;
const MAX_SLEEP_MS = 60_000;
const STALE_READ_RETRY_MS = 50;
const DEFAULT_SKEW_BOUND_MS = 2_000;
