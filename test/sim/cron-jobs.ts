// ClusterCron jobs in the simulator: drawn per seed from a stream of their own (`cron` in
// `leaveOut`), run by the real JobRunner and electionLeadership in every process, on the process's
// own election, Consul port and clocks, so that its faults (partitions, pauses, clock steps,
// suspends, crashes, lost answers) reach the scheduler as they reach the election. What each
// fire's work observes goes to the ledger (cron-ledger.ts), which cron-checker.ts judges.
import type { ElectionLogger, LeaderElection, NodeConsulPort } from '../../lib/election';
import { ClockOffset } from '../../lib/scheduler/clock-offset';
import type { FireContext, FireEvent } from '../../lib/scheduler/cluster-job';
import { jobRecordKey } from '../../lib/scheduler/job-record';
import { JobRunner } from '../../lib/scheduler/job-runner';
import { electionLeadership } from '../../lib/scheduler/leadership';
import type { MisfirePolicy } from '../../lib/scheduler/misfire-plan';
import type { Prng } from '../support/prng';
import {
  emptyLedger,
  type CronInterruption,
  type CronJobSpec,
  type CronLead,
  type CronLedger,
} from './cron-ledger';
import type { SimProcess } from './sim-process';

/** Seconds between fires: every second, every 2–5 s, or (5-field) every minute. */
const PERIODS_S = [1, 1, 2, 3, 4, 5, 5, 60];

/** The share of seeds that run jobs: they cost a seed about twice its time. */
export const CRON_SHARE = 0.5;

/**
 * None in half the seeds; else 1–4 jobs, every one of them defined by every process (they are one
 * app's jobs).
 */
export function drawCronJobs(random: Prng): CronJobSpec[] | null {
  if (!random.chance(CRON_SHARE)) return null;
  return Array.from({ length: random.int(1, 4) }, (_, i) => {
    const periodS = random.pick(PERIODS_S);
    const cronTime =
      periodS === 60 ? '* * * * *' : periodS === 1 ? '* * * * * *' : `*/${periodS} * * * * *`;
    const misfireDraw = random.int(0, 2);
    const misfire: MisfirePolicy =
      misfireDraw === 0
        ? 'skip'
        : misfireDraw === 1
          ? 'run-once'
          : { catchUp: random.int(1, 3), withinMs: random.between(2_000, 10_000) };
    return {
      name: `job-${i + 1}`,
      cronTime,
      overlap: random.chance(0.5) ? 'skip' : 'allow',
      misfire,
      orphans: random.chance(0.5) ? 'record' : 'rerun',
      graceMs: random.between(300, 2_000),
      // Up to 2.5 periods: a run often outlasts its period (capped for the minute job).
      workMs: random.between(50, Math.min(periodS, 5) * 2_500),
      obeysSignal: random.chance(0.5),
      failureRate: random.chance(0.3) ? 0.2 : 0,
    };
  });
}

/** The runners of every process of one run, and the ledger of what their fires did. */
export class CronJobs {
  readonly ledger: CronLedger;
  private readonly byProcess = new Map<
    SimProcess,
    { runners: JobRunner[]; dispose: () => void; lead: CronLead | null }
  >();
  /** Per process, its clocks at the last look: a change not explained by its rate is a fault. */
  private readonly lastLook = new Map<
    SimProcess,
    { trueMs: number; mono: number; wallGap: number }
  >();
  private readonly open = new Map<SimProcess, CronInterruption>();
  /** The model's Raft index as each look found it: when a token's claim was applied. */
  private readonly indexes: Array<{ index: number; trueMs: number }> = [];

  constructor(
    readonly jobs: readonly CronJobSpec[],
    private readonly random: Prng,
    private readonly now: () => number,
    wipes: readonly number[],
    private readonly log: (line: string) => void,
    private readonly raftIndex: () => number,
  ) {
    // The longest requestTimeout of the run is known at its end: the checker is given it then.
    this.ledger = emptyLedger(jobs, wipes, 0);
  }

  /** Builds the runners of a new process; the returned start runs in the process. */
  attach(
    process: SimProcess,
    election: LeaderElection,
    port: NodeConsulPort,
    electionKey: string,
    requestTimeoutMs: number,
    logger: ElectionLogger,
  ): () => void {
    const leadership = electionLeadership(election, port, requestTimeoutMs);
    const clockOffset = new ClockOffset();
    // The runner's timers are application timers: no skew drawn from the process's stream.
    const clock = {
      now: () => process.now(),
      wallNow: () => process.wallNow(),
      setTimer: (callback: () => void, delayMs: number) => process.setWorkTimer(callback, delayMs),
      clearTimer: (handle: unknown) => process.clearTimer(handle as never),
    };
    const runners = this.jobs.map(
      (job) =>
        new JobRunner({
          job: {
            name: job.name,
            cronTime: job.cronTime,
            overlap: job.overlap,
            misfire: job.misfire,
            orphans: job.orphans,
            graceMs: job.graceMs,
            handler: (context) => this.work(job, context, process),
          },
          port,
          clock,
          leadership,
          instanceId: process.name,
          recordKey: jobRecordKey(electionKey, job.name),
          requestTimeoutMs,
          logger,
          onEvent: (event) => this.observe(event, process),
          clockOffset,
        }),
    );
    const entry = { runners, dispose: () => leadership.dispose(), lead: null as CronLead | null };
    this.byProcess.set(process, entry);
    leadership.onChange(() => {
      const leading = leadership.current() !== null;
      if (leading && !entry.lead) {
        entry.lead = { instance: process.name, fromTrue: this.now(), toTrue: null, toWall: null };
        this.ledger.leads.push(entry.lead);
      } else if (!leading) this.endLead(process);
    });
    return () => {
      for (const runner of runners) runner.start();
    };
  }

  /** Stops the process's runners (before its election stops, as the Nest module does). */
  stopRunners(process: SimProcess): Promise<void> | null {
    const entry = this.byProcess.get(process);
    if (!entry) return null;
    this.endLead(process);
    return Promise.all(entry.runners.map((runner) => runner.stop())).then(() => entry.dispose());
  }

  /** After every event: notes a process paused, catching up, or whose clocks stood or jumped. */
  sample(): void {
    const trueMs = this.now();
    const index = this.raftIndex();
    if (index !== this.indexes.at(-1)?.index) this.indexes.push({ index, trueMs });
    for (const process of this.byProcess.keys()) {
      if (process.crashed) {
        // A crashed process leads no more, whatever its runners last believed.
        this.endLead(process);
        continue;
      }
      const mono = process.now();
      const wallGap = process.wallNow() - mono;
      const last = this.lastLook.get(process);
      this.lastLook.set(process, { trueMs, mono, wallGap });
      const jumped =
        !!last &&
        (Math.abs(wallGap - last.wallGap) > 1 ||
          Math.abs(mono - last.mono - (trueMs - last.trueMs) * process.rate) >
            1 + (trueMs - last.trueMs) * 0.02);
      if (!(process.paused || process.backlog > 0 || jumped)) continue;
      // Consecutive looks extend one stretch.
      const open = this.open.get(process);
      if (open && last && open.toTrue === last.trueMs) open.toTrue = trueMs;
      else {
        const stretch = {
          instance: process.name,
          fromTrue: last?.trueMs ?? trueMs,
          toTrue: trueMs,
        };
        this.ledger.interruptions.push(stretch);
        this.open.set(process, stretch);
      }
    }
  }

  /** Closes leads still open at the run's end. */
  finish(): void {
    for (const process of this.byProcess.keys()) this.endLead(process);
  }

  /** The first look at which the index had reached `token`, since the last wipe. */
  private claimedAt(token: number): number {
    const since = this.ledger.wipes.at(-1) ?? -Infinity;
    let at = this.now();
    for (let i = this.indexes.length - 1; i >= 0; i -= 1) {
      const look = this.indexes[i]!;
      if (look.index < token || look.trueMs < since) break;
      at = look.trueMs;
    }
    return at;
  }

  private endLead(process: SimProcess): void {
    const entry = this.byProcess.get(process);
    if (!entry?.lead) return;
    entry.lead.toTrue = this.now();
    entry.lead.toWall = process.wallNow();
    entry.lead = null;
  }

  private observe(event: FireEvent, process: SimProcess): void {
    const atTrue = this.now();
    if (event.kind === 'skipped')
      this.ledger.skips.push({
        job: event.job,
        fireTime: event.fireTime,
        count: event.count,
        reason: event.reason,
        instance: process.name,
        atTrue,
        atWall: process.wallNow(),
      });
    else if (event.kind === 'orphaned')
      this.ledger.orphans.push({
        job: event.job,
        fireTime: event.fireTime,
        token: event.token,
        instance: process.name,
        atTrue,
      });
  }

  /**
   * A fire's work, as the ledger sees it: writes to the job's sink with its token when it begins
   * and when it ends, works for a drawn time on the process's clock, stops at its signal if it
   * obeys it, and sometimes fails.
   */
  private work(job: CronJobSpec, context: FireContext, process: SimProcess): Promise<void> {
    const run = {
      job: job.name,
      fireTime: context.fireTime.getTime(),
      token: context.fencingToken,
      attempt: context.attempt,
      instance: process.name,
      startTrue: this.now(),
      startWall: process.wallNow(),
      claimTrue: this.claimedAt(context.fencingToken),
      endTrue: null as number | null,
      outcome: null as 'done' | 'failed' | 'aborted' | null,
    };
    this.ledger.runs.push(run);
    this.log(
      `${run.instance} CRON ${job.name} work of ${new Date(run.fireTime).toISOString()} token ${run.token} attempt ${run.attempt} begins (wall ${new Date(run.startWall).toISOString()}, signal ${context.signal.aborted ? 'aborted' : 'live'})`,
    );
    const write = (): void =>
      void this.ledger.sinkWrites.push({
        job: job.name,
        fireTime: run.fireTime,
        attempt: run.attempt,
        token: run.token,
        instance: run.instance,
        atTrue: this.now(),
      });
    write();
    const durationMs = this.random.between(job.workMs / 2, job.workMs * 1.5);
    const fails = this.random.chance(job.failureRate);
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<SimProcess['setWorkTimer']> | null = null;
      const end = (aborted: boolean): void => {
        if (run.endTrue !== null) return;
        if (timer) process.clearTimer(timer);
        run.endTrue = this.now();
        if (aborted) {
          run.outcome = 'aborted';
          return resolve();
        }
        write();
        run.outcome = fails ? 'failed' : 'done';
        if (fails) reject(new Error(`${job.name} failed (drawn)`));
        else resolve();
      };
      if (job.obeysSignal && context.signal.aborted) return end(true);
      timer = process.setWorkTimer(() => end(false), durationMs);
      if (job.obeysSignal)
        context.signal.addEventListener('abort', () => end(true), { once: true });
    });
  }
}
