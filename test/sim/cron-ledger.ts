// The fire ledger of the simulator's ClusterCron jobs: what each job's work observed (its
// FireContext, the clocks of the process it ran in, the writes it made to the job's fenced sink)
// and what the runners reported of the fires they did not run (FireEvent). The runner's own claims
// are not in it: cron-checker.ts judges the runner by what its work saw.
import type { MisfirePolicy } from '../../lib/scheduler/misfire-plan';

/** A job as every instance of the simulated app defines it, and how its work behaves. */
export interface CronJobSpec {
  readonly name: string;
  readonly cronTime: string;
  readonly overlap: 'skip' | 'allow';
  readonly misfire: MisfirePolicy;
  readonly orphans: 'record' | 'rerun';
  readonly graceMs: number;
  /** The work's duration, drawn per fire within `[workMs/2, workMs × 1.5]`. */
  readonly workMs: number;
  /** Work that stops when its signal aborts; otherwise it runs its course. */
  readonly obeysSignal: boolean;
  /** The share of fires whose work throws at its end. */
  readonly failureRate: number;
}

/** One run of a job, as its work saw it. */
export interface CronRun {
  readonly job: string;
  /** `FireContext.fireTime` (ms since epoch). */
  readonly fireTime: number;
  readonly token: number;
  readonly attempt: number;
  /** The process it ran in (`c2.1`). */
  readonly instance: string;
  /** True time the work began, and the process's wall clock then (what the work read). */
  readonly startTrue: number;
  readonly startWall: number;
  /**
   * True time Consul applied the write whose index is the token (the claim), from the model's
   * index: later than it by at most one event. Absent in a hand-built ledger: taken as the start.
   */
  readonly claimTrue?: number;
  endTrue: number | null;
  /** `aborted`: the work obeyed its signal and stopped early; null: it never ended (a crash). */
  outcome: 'done' | 'failed' | 'aborted' | null;
}

/** A fire the runners did not run, with their reason. */
export interface CronSkip {
  readonly job: string;
  /** Null: a summary of `count` earlier fires not listed. */
  readonly fireTime: number | null;
  readonly count: number;
  readonly reason: 'overlap' | 'misfire';
  readonly instance: string;
  readonly atTrue: number;
  /** The deciding process's wall clock when it reported the skip. */
  readonly atWall: number;
}

/** A run whose owner's session was gone (or a claim whose answer was lost), recorded orphaned. */
export interface CronOrphan {
  readonly job: string;
  readonly fireTime: number;
  readonly token: number;
  readonly instance: string;
  readonly atTrue: number;
}

/** A write of a fire's work to its job's fenced sink (the sink itself is judged by the checker). */
export interface CronSinkWrite {
  readonly job: string;
  readonly fireTime: number;
  readonly attempt: number;
  readonly token: number;
  readonly instance: string;
  readonly atTrue: number;
}

/** A stretch in which a process's runners believed they led (`Leadership.current()` non-null). */
export interface CronLead {
  readonly instance: string;
  readonly fromTrue: number;
  toTrue: number | null;
  /** The process's wall clock at the end (or at the run's end, for a lead never ended). */
  toWall: number | null;
}

/**
 * A stretch in which a process did not run on its clocks as they should: paused, catching up, a clock
 * stopped or stepped. The checker's timing rules leave out runs and skips of that process near it.
 */
export interface CronInterruption {
  readonly instance: string;
  readonly fromTrue: number;
  toTrue: number;
}

export interface CronLedger {
  readonly jobs: readonly CronJobSpec[];
  readonly runs: CronRun[];
  readonly skips: CronSkip[];
  readonly orphans: CronOrphan[];
  readonly sinkWrites: CronSinkWrite[];
  readonly leads: CronLead[];
  readonly interruptions: CronInterruption[];
  /** True times of wiped agent restarts: every record, and each sink, starts over. */
  readonly wipes: readonly number[];
  /** The longest `requestTimeout` of any process of the run. */
  readonly requestTimeoutMs: number;
}

export function emptyLedger(
  jobs: readonly CronJobSpec[],
  wipes: readonly number[],
  requestTimeoutMs: number,
): CronLedger {
  return {
    jobs,
    runs: [],
    skips: [],
    orphans: [],
    sinkWrites: [],
    leads: [],
    interruptions: [],
    wipes,
    requestTimeoutMs,
  };
}
