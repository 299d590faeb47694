// The ClusterCron jobs a chaos candidate runs on its election, as the Nest layer will: one JobRunner
// per job on the election's leadership and port. Each fire's start, work steps, end, and every
// skip and orphan go to the shared log for the ledger checker (cron-ledger.ts).
import type { ElectionLogger, LeaderElection, NodeConsulPort } from '../../lib/election';
import { systemClock } from '../../lib/election';
import { ClockOffset } from '../../lib/scheduler/clock-offset';
import type { ClusterJob, FireContext, FireEvent } from '../../lib/scheduler/cluster-job';
import { jobRecordKey } from '../../lib/scheduler/job-record';
import { JobRunner } from '../../lib/scheduler/job-runner';
import { electionLeadership } from '../../lib/scheduler/leadership';
import { monotonicMs, type ChaosRecord } from './chaos-log';

/** A job of the chaos run, and what the ledger checker needs to know of it. */
export interface ChaosJobSpec {
  readonly name: string;
  readonly cronTime: string;
  /** The schedule's period (every expression here fires every `periodMs`, aligned to the epoch). */
  readonly periodMs: number;
  readonly workMs: number;
  readonly overlap: ClusterJob['overlap'];
  readonly misfire: ClusterJob['misfire'];
  readonly orphans: ClusterJob['orphans'];
}

/** Varied on purpose: each overlap, misfire and orphan policy, and a run longer than its period. */
export const CHAOS_JOBS: readonly ChaosJobSpec[] = [
  {
    name: 'every-1s',
    cronTime: '* * * * * *',
    periodMs: 1_000,
    workMs: 200,
    overlap: 'skip',
    misfire: 'run-once',
    orphans: 'record',
  },
  {
    name: 'every-3s',
    cronTime: '*/3 * * * * *',
    periodMs: 3_000,
    workMs: 600,
    overlap: 'allow',
    misfire: { catchUp: 2, withinMs: 10_000 },
    orphans: 'rerun',
  },
  {
    name: 'long-2s',
    cronTime: '*/2 * * * * *',
    periodMs: 2_000,
    workMs: 3_500,
    overlap: 'skip',
    misfire: 'skip',
    orphans: 'record',
  },
];

/** Between two work steps of a fire. */
const WORK_STEP_MS = 100;
/** A step whose two clock reads are further apart than this cannot be dated: not logged as work. */
const IMPRECISE_MS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function startJobs(options: {
  readonly election: LeaderElection;
  readonly port: NodeConsulPort;
  readonly processName: string;
  readonly instanceId: string;
  readonly requestTimeoutMs: number;
  readonly logger: ElectionLogger;
  readonly write: (record: ChaosRecord) => void;
}): { stop(): Promise<void> } {
  const { election, port, processName: p, write } = options;
  const leadership = electionLeadership(election, port, options.requestTimeoutMs);
  const clockOffset = new ClockOffset();

  const onEvent = (event: FireEvent): void => {
    const t = monotonicMs();
    if (event.kind === 'started') {
      write({
        k: 'fire',
        p,
        job: event.job,
        T: event.fireTime,
        tok: event.token,
        att: event.attempt,
        t,
        w: event.at,
      });
    } else if (event.kind === 'ended') {
      write({
        k: 'fire-end',
        p,
        job: event.job,
        T: event.fireTime,
        tok: event.token,
        outcome: event.outcome,
        t,
      });
    } else if (event.kind === 'skipped') {
      write({
        k: 'skip',
        p,
        job: event.job,
        T: event.fireTime,
        n: event.count,
        reason: event.reason,
        t,
      });
    } else {
      write({
        k: 'orphan',
        p,
        job: event.job,
        T: event.fireTime,
        tok: event.token,
        owner: event.owner,
        t,
      });
    }
  };

  /** The work of a fire, as a careful job does it: a step only while its signal is not aborted. */
  const work =
    (spec: ChaosJobSpec) =>
    async (context: FireContext): Promise<void> => {
      const until = monotonicMs() + spec.workMs;
      do {
        const t0 = monotonicMs();
        const aborted = context.signal.aborted;
        const ld = election.isLeader();
        const t1 = monotonicMs();
        if (aborted) throw new Error('aborted');
        if (t1 - t0 <= IMPRECISE_MS) {
          write({ k: 'work', p, job: spec.name, tok: context.fencingToken, t0, t1, ld });
        }
        await sleep(WORK_STEP_MS);
      } while (monotonicMs() < until);
    };

  const runners = CHAOS_JOBS.map(
    (spec) =>
      new JobRunner({
        job: {
          name: spec.name,
          cronTime: spec.cronTime,
          overlap: spec.overlap,
          misfire: spec.misfire,
          orphans: spec.orphans,
          graceMs: 1_000,
          handler: work(spec),
        },
        port,
        clock: systemClock,
        leadership,
        instanceId: options.instanceId,
        recordKey: jobRecordKey(election.options.key, spec.name),
        requestTimeoutMs: options.requestTimeoutMs,
        logger: options.logger,
        onEvent,
        clockOffset,
      }),
  );
  runners.forEach((runner) => runner.start());
  return {
    stop: async () => {
      await Promise.all(runners.map((runner) => runner.stop()));
      leadership.dispose();
    },
  };
}
