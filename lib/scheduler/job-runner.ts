import type { ElectionLogger } from '../election/options/election-options';
import type { Clock, TimerHandle } from '../election/time/clock';
import {
  claimedRecord,
  endedRecord,
  readRecord,
  recordOutcome,
  skippedRecord,
  writeRecord,
  type RecordAccess,
  type SchedulerPort,
  type WriteOutcome,
} from './claim';
import type { ClockOffset } from './clock-offset';
import type { ClusterJob, FireEvent } from './cluster-job';
import { FireSchedule } from './fire-times';
import { tokenOf, type JobRun, type ReadRecord } from './job-record';
import type { Lead, Leadership } from './leadership';
import { planFires, type FirePlan } from './misfire-plan';
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

/** One run this instance started; kept until its outcome is recorded (or superseded). */
interface LocalRun {
  readonly fireTime: number;
  readonly token: number;
  readonly attempt: number;
  readonly controller: AbortController;
  end: { state: 'done' | 'failed'; endedAt: number; error?: string } | null;
  finishing: Promise<void> | null;
  done: Promise<void>;
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
  private readonly runs = new Map<number, LocalRun>();
  /** Wall-clock start: a job without a record missed no fire before it. */
  private startedAt = 0;
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  private loopDone: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => undefined;
  private skewWarned = false;
  /** The largest token of a run started here: claims only grow, so an adopted one is larger. */
  private lastStartedToken = 0;
  /** A claim sent on this session whose answer was lost: the record may show it, unstarted. */
  private unresolvedClaim: { sessionId: string } | null = null;
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
  }

  /** Fires started here and not yet recorded as ended, by token. */
  get activeTokens(): number[] {
    return [...this.runs.values()].filter((run) => !run.end).map((run) => run.token);
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
    for (const run of this.runs.values())
      run.controller.abort(new Error(SchedulerMessages.stopped));
    this.wake();
    await this.loopDone;
    await Promise.all([...this.runs.values()].map((run) => run.done));
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.state === 'running') {
      const lead = this.ctx.leadership.current();
      let delay = Infinity;
      if (!lead && (this.unrecorded().length > 0 || this.unresolvedClaim)) {
        // Outcomes are written, and unknown claims resolved, whoever leads: a run left `running`
        // in the record with its owner's session alive would make the next leader skip every
        // fire as an overlap.
        try {
          for (const run of this.unrecorded()) await this.finish(run);
          if (this.unresolvedClaim) await this.giveUpClaim(this.unresolvedClaim);
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
        await this.finish(local);
        return 0;
      }
      if (local) {
        runningAnywhere = runningHere = true;
      } else if (run.session === lead.sessionId) {
        // Claimed on our session, yet not started here: a claim whose answer was lost, which is
        // newer than every run started here. The record says it is ours and nobody else's; it
        // runs now, once. An older token is a run of ours that ended after this read was
        // answered (the record is read again shortly; never in a tight loop).
        if (token <= this.lastStartedToken) return STALE_READ_RETRY_MS;
        this.begin(lead, run.fireTime, token, run.attempt);
        return 0;
      } else if (await this.ownerAlive(run.session, lead)) {
        // Its owner lives (a handoff's drain): the run may still be going.
        runningAnywhere = true;
      } else {
        return this.orphan(lead, read, run, token);
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
      if (plan.skipped.length === 0) return this.untilNextFire(decidedThrough, now);
      return this.skip(lead, read, plan, [], 'misfire');
    }
    if (runningAnywhere && this.ctx.job.overlap === 'skip') {
      // A fire caught up late waits for the run before it here; one on time is skipped.
      if (runningHere && now - next > this.ctx.job.graceMs) return Infinity;
      return this.skip(lead, read, plan, plan.run, 'overlap');
    }
    const claim = claimedRecord(
      read,
      {
        fireTime: next,
        attempt: 1,
        owner: this.ctx.instanceId,
        session: lead.sessionId,
        startedAt: now,
      },
      { fireTimes: plan.skipped, by: this.ctx.instanceId },
    );
    const written = await this.claiming(
      lead,
      () => writeRecord(this.access, read, claim, lead),
      plan,
    );
    if (!written.written) return written.reason === 'moved' ? 0 : NOT_LEADER_RETRY_MS;
    this.reportMisfires(plan);
    this.begin(lead, next, written.modifyIndex, 1);
    return 0;
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
    if (!written.written) return written.reason === 'moved' ? 0 : NOT_LEADER_RETRY_MS;
    this.reportMisfires(plan);
    for (const fireTime of overlapping) this.reportSkip(fireTime, 'overlap', 1);
    return 0;
  }

  /** A `running` run whose session is gone: recorded orphaned; with `rerun`, claimed again. */
  private async orphan(lead: Lead, read: ReadRecord, run: JobRun, token: number): Promise<number> {
    const now = this.ctx.clock.wallNow();
    const ended = endedRecord(read, token, { state: 'orphaned', endedAt: now });
    if (!ended) return 0;
    const rerun = this.ctx.job.orphans === 'rerun';
    const next = rerun
      ? {
          ...ended,
          run: {
            fireTime: run.fireTime,
            owner: this.ctx.instanceId,
            session: lead.sessionId,
            state: 'running' as const,
            attempt: run.attempt + 1,
            startedAt: now,
          },
        }
      : ended;
    const written = await this.claiming(lead, () => writeRecord(this.access, read, next, lead));
    if (!written.written) return written.reason === 'moved' ? 0 : NOT_LEADER_RETRY_MS;
    this.ctx.logger.warn(
      SchedulerMessages.orphaned(this.ctx.job.name, run.fireTime, token, run.owner, rerun),
    );
    this.emit({
      kind: 'orphaned',
      job: this.ctx.job.name,
      fireTime: run.fireTime,
      token,
      owner: run.owner,
      instanceId: this.ctx.instanceId,
    });
    if (rerun) this.begin(lead, run.fireTime, written.modifyIndex, run.attempt + 1);
    return 0;
  }

  /**
   * Whether the session that claimed a run still lives. Consul filters what a token may not read:
   * without `session:read`, every session looks gone, so a "gone" is checked against our own
   * session, which lives while we lead. If that one looks gone too, nothing can be told, and the
   * owner is taken as alive: an orphan not recorded (logged), rather than a live run taken for dead.
   */
  private async ownerAlive(sessionId: string, lead: Lead): Promise<boolean> {
    const timeoutMs = this.ctx.requestTimeoutMs;
    if (await this.ctx.port.sessionAlive(sessionId, timeoutMs)) return true;
    if (await this.ctx.port.sessionAlive(lead.sessionId, timeoutMs)) return false;
    this.ctx.logger.warn(SchedulerMessages.sessionsHidden(this.ctx.job.name, sessionId));
    return true;
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
    if (pending.plan) this.reportMisfires(pending.plan);
    for (const fireTime of pending.overlapping) this.reportSkip(fireTime, 'overlap', 1);
  }

  /**
   * Not leading any more, with a claim whose answer was lost: if the record shows it, unstarted,
   * it is recorded as orphaned (never run: this instance no longer owns the job, and the fire is
   * decided). Leading again first, the step would have run it instead.
   */
  private async giveUpClaim(claim: { sessionId: string }): Promise<void> {
    const read = await readRecord(this.access);
    this.reportIfApplied(read);
    const run = read.record?.run;
    const token = run ? tokenOf(run, read.modifyIndex) : 0;
    if (
      run?.state === 'running' &&
      run.session === claim.sessionId &&
      token > this.lastStartedToken
    ) {
      const ended = endedRecord(read, token, {
        state: 'orphaned',
        endedAt: this.ctx.clock.wallNow(),
      });
      if (!ended || !(await writeRecord(this.access, read, ended, null)).written) return;
      this.ctx.logger.warn(SchedulerMessages.claimGivenUp(this.ctx.job.name, run.fireTime, token));
      this.emit({
        kind: 'orphaned',
        job: this.ctx.job.name,
        fireTime: run.fireTime,
        token,
        owner: run.owner,
        instanceId: this.ctx.instanceId,
      });
    }
    this.unresolvedClaim = null;
  }

  /** Starts a claimed fire; its signal aborts when the term ends or the runner stops. */
  private begin(lead: Lead, fireTime: number, token: number, attempt: number): void {
    const controller = new AbortController();
    const onTermEnd = (): void => controller.abort(new Error(SchedulerMessages.leadershipEnded));
    if (lead.signal.aborted || this.state !== 'running') onTermEnd();
    else lead.signal.addEventListener('abort', onTermEnd, { once: true });
    const local: LocalRun = {
      fireTime,
      token,
      attempt,
      controller,
      end: null,
      finishing: null,
      done: Promise.resolve(),
    };
    this.runs.set(token, local);
    this.lastStartedToken = Math.max(this.lastStartedToken, token);
    const base = {
      job: this.ctx.job.name,
      fireTime,
      token,
      attempt,
      instanceId: this.ctx.instanceId,
    };
    this.emit({ kind: 'started', ...base, at: this.ctx.clock.wallNow() });
    local.done = (async () => {
      let end: { state: 'done' | 'failed'; error?: string };
      try {
        await this.ctx.job.handler({
          jobName: this.ctx.job.name,
          fireTime: new Date(fireTime),
          fencingToken: token,
          signal: controller.signal,
          attempt,
        });
        end = { state: 'done' };
      } catch (error) {
        end = { state: 'failed', error: messageOf(error) };
        this.ctx.logger.error(
          SchedulerMessages.failed(this.ctx.job.name, fireTime, token, end.error!),
        );
      } finally {
        lead.signal.removeEventListener('abort', onTermEnd);
      }
      local.end = { ...end, endedAt: this.ctx.clock.wallNow() };
      this.emit({
        kind: 'ended',
        ...base,
        outcome: end.state,
        at: local.end.endedAt,
        ...(end.error ? { error: end.error } : {}),
      });
      await this.finish(local).catch((error: unknown) =>
        this.ctx.logger.warn(
          SchedulerMessages.outcomeNotRecorded(this.ctx.job.name, token, messageOf(error)),
        ),
      );
      this.wake();
    })();
  }

  /** Writes a finished run's outcome (once at a time); the run is forgotten once the record has it. */
  private finish(local: LocalRun): Promise<void> {
    local.finishing ??= (async () => {
      try {
        await recordOutcome(this.access, local.token, local.end!);
        this.runs.delete(local.token);
      } finally {
        local.finishing = null;
      }
    })();
    return local.finishing;
  }

  /** Runs that ended here and whose outcome the record does not have yet. */
  private unrecorded(): LocalRun[] {
    return [...this.runs.values()].filter((run) => run.end !== null);
  }

  private untilNextFire(decidedThrough: number, now: number): number {
    return Math.max(1, this.schedule.next(Math.max(decidedThrough, now)) - now);
  }

  private reportMisfires(plan: FirePlan): void {
    if (plan.skippedUnlisted > 0) {
      this.ctx.logger.warn(
        SchedulerMessages.skippedEarlier(this.ctx.job.name, plan.skippedUnlisted, plan.exact),
      );
      this.emit({
        kind: 'skipped',
        job: this.ctx.job.name,
        reason: 'misfire',
        fireTime: null,
        count: plan.skippedUnlisted,
        instanceId: this.ctx.instanceId,
      });
    }
    for (const fireTime of plan.skipped) this.reportSkip(fireTime, 'misfire', 1);
  }

  private reportSkip(fireTime: number, reason: 'overlap' | 'misfire', count: number): void {
    this.ctx.logger.warn(SchedulerMessages.skipped(this.ctx.job.name, fireTime, reason));
    this.emit({
      kind: 'skipped',
      job: this.ctx.job.name,
      reason,
      fireTime,
      count,
      instanceId: this.ctx.instanceId,
    });
  }

  private emit(event: FireEvent): void {
    this.ctx.onEvent?.(event);
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/** After a claim refused for leadership: the election will say so soon; look again then at the latest. */
const NOT_LEADER_RETRY_MS = 1_000;
const MAX_SLEEP_MS = 60_000;
const STALE_READ_RETRY_MS = 50;
const DEFAULT_SKEW_BOUND_MS = 2_000;
