import type { ClusterJob, FireContext } from '../scheduler/cluster-job';

/** What a test gives `runClusterCron`; every field has a default. */
export interface ClusterCronRun {
  /** The fire time T the job sees. Default: now. */
  fireTime?: Date | number;
  /** Default 1; more to test an orphan's re-run (`orphans: 'rerun'`). */
  attempt?: number;
  /** Aborts the run's signal when it aborts (besides the stub's own shutdown and step-down). */
  signal?: AbortSignal;
}

/**
 * The `@ClusterCron` jobs of an app whose election is the testing stub: run on demand, not on a
 * schedule, each with a {@link FireContext} whose token is larger than the last one given.
 */
export class OnDemandJobs {
  private jobs = new Map<string, ClusterJob>();
  private lastToken = 0;
  private readonly running = new Set<AbortController>();

  attach(jobs: readonly ClusterJob[]): void {
    this.jobs = new Map(jobs.map((job) => [job.name, job]));
  }

  get names(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Runs job `name` now and settles as it does: resolves with the context it was given, rejects
   * with what it threw. Its signal aborts on `abortAll()` (the stub's shutdown), when `termSignal`
   * aborts (the stub steps down), or with `run.signal`.
   */
  async run(
    name: string,
    run: ClusterCronRun,
    termSignal: AbortSignal | null,
  ): Promise<FireContext> {
    const job = this.jobs.get(name);
    if (!job) {
      throw new Error(
        `No @ClusterCron job "${name}" was attached to this stub (its jobs: ${this.names.join(', ') || 'none'}): ` +
          'is the stub the service of the election the job follows, and has the app been initialized?',
      );
    }
    const controller = new AbortController();
    const abort = (): void => controller.abort(new Error('the stub stopped running the job'));
    for (const signal of [termSignal, run.signal]) {
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    }
    this.lastToken += 1;
    const context: FireContext = {
      jobName: job.name,
      fireTime: new Date(run.fireTime ?? Date.now()),
      fencingToken: this.lastToken,
      signal: controller.signal,
      attempt: run.attempt ?? 1,
    };
    this.running.add(controller);
    try {
      await job.handler(context);
      return context;
    } finally {
      this.running.delete(controller);
      for (const signal of [termSignal, run.signal]) signal?.removeEventListener('abort', abort);
    }
  }

  abortAll(): void {
    for (const controller of this.running) controller.abort(new Error('the stub stopped'));
  }
}
