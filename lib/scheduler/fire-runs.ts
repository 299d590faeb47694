import type { ElectionLogger } from '../election/options/election-options';
import type { Clock } from '../election/time/clock';
import { recordOutcome, type RecordAccess } from './claim';
import type { ClusterJob, FireEvent } from './cluster-job';
import type { Lead } from './leadership';
import { SchedulerMessages } from './scheduler.messages';

// The runs of one job on this instance: a claimed fire started with its token and signal, its end
// noted, its outcome written to the record. What is claimed, and when, is the runner's to decide.

/** One run this instance started; kept until its outcome is recorded (or superseded). */
export interface LocalRun {
  readonly fireTime: number;
  readonly token: number;
  readonly attempt: number;
  readonly controller: AbortController;
  end: { state: 'done' | 'failed'; endedAt: number; error?: string } | null;
  finishing: Promise<void> | null;
  done: Promise<void>;
}

export interface FireRunsContext {
  readonly job: ClusterJob;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly logger: ElectionLogger;
  readonly access: RecordAccess;
  readonly emit: (event: FireEvent) => void;
  /** False once the runner stops: a run begun then starts with its signal aborted. */
  readonly running: () => boolean;
  /** A run ended and its outcome was written (or not): the runner looks at the record again. */
  readonly onSettled: () => void;
}

export class FireRuns {
  private readonly runs = new Map<number, LocalRun>();
  /** The largest token of a run started here: claims only grow, so an adopted one is larger. */
  private lastStarted = 0;

  constructor(private readonly ctx: FireRunsContext) {}

  get lastStartedToken(): number {
    return this.lastStarted;
  }

  /** Fires started here and not yet recorded as ended, by token. */
  get activeTokens(): number[] {
    return [...this.runs.values()].filter((run) => !run.end).map((run) => run.token);
  }

  get(token: number): LocalRun | undefined {
    return this.runs.get(token);
  }

  /** Runs that ended here and whose outcome the record does not have yet. */
  unrecorded(): LocalRun[] {
    return [...this.runs.values()].filter((run) => run.end !== null);
  }

  /** Aborts the signal of every run in progress. */
  abortAll(reason: Error): void {
    for (const run of this.runs.values()) run.controller.abort(reason);
  }

  /** Settles when every run started so far has ended and its outcome write settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.done));
  }

  /** Starts a claimed fire; its signal aborts when the term ends or the runner stops. */
  begin(lead: Lead, fireTime: number, token: number, attempt: number): void {
    const { job, instanceId } = this.ctx;
    const controller = new AbortController();
    const onTermEnd = (): void => controller.abort(new Error(SchedulerMessages.leadershipEnded));
    if (lead.signal.aborted || !this.ctx.running()) onTermEnd();
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
    this.lastStarted = Math.max(this.lastStarted, token);
    const base = { job: job.name, fireTime, token, attempt, instanceId };
    this.ctx.emit({ kind: 'started', ...base, at: this.ctx.clock.wallNow() });
    local.done = (async () => {
      let end: { state: 'done' | 'failed'; error?: string };
      try {
        await job.handler({
          jobName: job.name,
          fireTime: new Date(fireTime),
          fencingToken: token,
          signal: controller.signal,
          attempt,
        });
        end = { state: 'done' };
      } catch (error) {
        end = { state: 'failed', error: messageOf(error) };
        this.ctx.logger.error(SchedulerMessages.failed(job.name, fireTime, token, end.error!));
      } finally {
        lead.signal.removeEventListener('abort', onTermEnd);
      }
      local.end = { ...end, endedAt: this.ctx.clock.wallNow() };
      this.ctx.emit({
        kind: 'ended',
        ...base,
        outcome: end.state,
        at: local.end.endedAt,
        ...(end.error ? { error: end.error } : {}),
      });
      await this.finish(local).catch((error: unknown) =>
        this.ctx.logger.warn(
          SchedulerMessages.outcomeNotRecorded(job.name, token, messageOf(error)),
        ),
      );
      this.ctx.onSettled();
    })();
  }

  /** Writes a finished run's outcome (once at a time); the run is forgotten once the record has it. */
  finish(local: LocalRun): Promise<void> {
    local.finishing ??= (async () => {
      try {
        await recordOutcome(this.ctx.access, local.token, local.end!);
        this.runs.delete(local.token);
      } finally {
        local.finishing = null;
      }
    })();
    return local.finishing;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
