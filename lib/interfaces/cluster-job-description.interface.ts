/** One `@ClusterCron` job as `ClusterScheduler.describe()` tells it. */
export interface ClusterJobDescription {
  readonly name: string;
  readonly cronTime: string;
  /** Null: the process's time zone. */
  readonly timeZone: string | null;
  /** The instance that runs the jobs (the election's leader, as this instance knows it); null when none is known. */
  readonly owner: string | null;
  /** True when that instance is this one. */
  readonly ownedHere: boolean;
  /** The latest claimed fire and how it stands; null before the job's first fire. */
  readonly lastFire: {
    /** Its scheduled time T (for a triggered fire, when it was triggered). */
    readonly fireTime: Date;
    /** `running`, `done`, `failed`, or `orphaned` (its owner died mid-run). */
    readonly state: 'running' | 'done' | 'failed' | 'orphaned';
    readonly owner: string;
    readonly attempt: number;
    readonly fencingToken: number;
    /** On the owner's clock. */
    readonly startedAt: Date;
    readonly endedAt: Date | null;
    readonly error: string | null;
  } | null;
  /** The latest fire skipped, and why (`overlap`, `misfire`); null when none was. */
  readonly lastSkip: {
    readonly fireTime: Date;
    readonly reason: 'overlap' | 'misfire';
    readonly by: string;
  } | null;
  /** The next fire not decided yet, on this instance's clock. */
  readonly nextFire: Date;
  /** The latest fire's fencing token; null before the first fire. */
  readonly fencingToken: number | null;
  /** Set when the record in Consul cannot be read (not written by this library?). */
  readonly recordError?: string;
}
