import type { ElectionLogger } from '../election/options/election-options';
import type { Clock } from '../election/time/clock';
import {
  endedRecord,
  readRecord,
  writeRecord,
  type RecordAccess,
  type SchedulerPort,
  type WriteOutcome,
} from './claim';
import type { ClusterJob } from './cluster-job';
import type { FireReports } from './fire-reports';
import { tokenOf, type JobRun, type ReadRecord } from './job-record';
import type { Lead } from './leadership';
import { SchedulerMessages } from './scheduler.messages';

// Runs left `running` in the record by an owner that is gone: a dead instance's (its session is
// gone), or a claim of ours whose answer was lost after leadership moved on. Each is recorded as
// orphaned, never left to make every later fire look like an overlap.

export interface OrphanContext {
  readonly job: ClusterJob;
  readonly port: SchedulerPort;
  readonly access: RecordAccess;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly requestTimeoutMs: number;
  readonly logger: ElectionLogger;
  readonly reports: FireReports;
}

/**
 * A `running` run whose session is gone: recorded orphaned; with `rerun`, claimed again in the same
 * write (the next attempt, a larger token). Returns the write's outcome and, when claimed, the attempt.
 */
export async function recordOrphan(
  ctx: OrphanContext,
  lead: Lead,
  read: ReadRecord,
  run: JobRun,
  token: number,
  send: (write: () => Promise<WriteOutcome>) => Promise<WriteOutcome>,
): Promise<{ outcome: WriteOutcome; rerunAttempt: number | null } | null> {
  const now = ctx.clock.wallNow();
  const ended = endedRecord(read, token, { state: 'orphaned', endedAt: now });
  if (!ended) return null;
  const rerun = ctx.job.orphans === 'rerun';
  const next = rerun
    ? {
        ...ended,
        run: {
          fireTime: run.fireTime,
          owner: ctx.instanceId,
          session: lead.sessionId,
          state: 'running' as const,
          attempt: run.attempt + 1,
          startedAt: now,
        },
      }
    : ended;
  const outcome = await send(() => writeRecord(ctx.access, read, next, lead));
  if (!outcome.written) return { outcome, rerunAttempt: null };
  ctx.reports.orphaned(
    run,
    token,
    SchedulerMessages.orphaned(ctx.job.name, run.fireTime, token, run.owner, rerun),
  );
  return { outcome, rerunAttempt: rerun ? run.attempt + 1 : null };
}

/**
 * Whether the session that claimed a run still lives. Consul filters what a token may not read:
 * without `session:read`, every session looks gone, so a "gone" is checked against our own
 * session, which lives while we lead. If that one looks gone too, nothing can be told, and the
 * owner is taken as alive: an orphan not recorded (logged), rather than a live run taken for dead.
 */
export async function ownerAlive(
  ctx: OrphanContext,
  sessionId: string,
  lead: Lead,
): Promise<boolean> {
  const timeoutMs = ctx.requestTimeoutMs;
  if (await ctx.port.sessionAlive(sessionId, timeoutMs)) return true;
  if (await ctx.port.sessionAlive(lead.sessionId, timeoutMs)) return false;
  ctx.logger.warn(SchedulerMessages.sessionsHidden(ctx.job.name, sessionId));
  return true;
}

/**
 * Not leading any more, with a claim whose answer was lost: if the record shows it, unstarted,
 * it is recorded as orphaned (never run: this instance no longer owns the job, and the fire is
 * decided). Leading again first, the step would have run it instead. False when the record
 * could not be written: the claim is still unresolved.
 */
export async function giveUpClaim(
  ctx: OrphanContext,
  claim: { sessionId: string },
  lastStartedToken: number,
  /** Sees the read first (the skips of a decision whose answer was lost are reported from it). */
  onRead: (read: ReadRecord) => void = () => undefined,
): Promise<boolean> {
  const read = await readRecord(ctx.access);
  onRead(read);
  const run = read.record?.run;
  const token = run ? tokenOf(run, read.modifyIndex) : 0;
  if (run?.state !== 'running' || run.session !== claim.sessionId || token <= lastStartedToken) {
    return true;
  }
  const ended = endedRecord(read, token, { state: 'orphaned', endedAt: ctx.clock.wallNow() });
  if (!ended || !(await writeRecord(ctx.access, read, ended, null)).written) return false;
  ctx.reports.orphaned(
    run,
    token,
    SchedulerMessages.claimGivenUp(ctx.job.name, run.fireTime, token),
  );
  return true;
}
