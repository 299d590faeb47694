import type { MisfirePolicy } from './misfire-plan';

/** What a job's method receives for one fire. */
export interface FireContext {
  /** The job's name: its identity in Consul. */
  readonly jobName: string;
  /** The scheduled time T of this fire (not the moment it started). */
  readonly fireTime: Date;
  /**
   * The Raft index of the write that claimed this fire: strictly increasing per job across every
   * owner, crash and handoff. Hand it to what the job writes, so a stale owner's write is refused.
   */
  readonly fencingToken: number;
  /** Aborted when this instance stops owning the job (its leadership ends, or it stops). */
  readonly signal: AbortSignal;
  /** 1, or more for an orphaned fire run again (`orphans: 'rerun'`). */
  readonly attempt: number;
}

/** One job, resolved: every option has its value. */
export interface ClusterJob {
  /** Its identity in Consul (`<election key>/jobs/<name>`). */
  readonly name: string;
  /** A cron expression as `@Cron` takes it (with seconds, or `CronExpression` values). */
  readonly cronTime: string;
  /** IANA time zone of the expression; the process's when absent. */
  readonly timeZone?: string;
  /** `skip`: a fire whose previous run still runs anywhere is skipped (and counted). */
  readonly overlap: 'skip' | 'allow';
  readonly misfire: MisfirePolicy;
  /** A run whose owner died mid-run: `record` (at most once) or `rerun` it with a larger token. */
  readonly orphans: 'record' | 'rerun';
  /** How late a fire may start and still be on time (not a misfire). */
  readonly graceMs: number;
  readonly handler: (context: FireContext) => unknown;
}

/** What happened to a fire, for logs, metrics and ledgers. */
export type FireEvent =
  | {
      readonly kind: 'started';
      readonly job: string;
      readonly fireTime: number;
      readonly token: number;
      readonly attempt: number;
      readonly instanceId: string;
      /** Wall-clock ms on this instance. */
      readonly at: number;
    }
  | {
      readonly kind: 'ended';
      readonly job: string;
      readonly fireTime: number;
      readonly token: number;
      readonly attempt: number;
      readonly instanceId: string;
      readonly outcome: 'done' | 'failed';
      readonly at: number;
      readonly error?: string;
    }
  | {
      readonly kind: 'skipped';
      readonly job: string;
      readonly reason: 'overlap' | 'misfire';
      /** The fire skipped; null for a summary of `count` earlier ones not listed. */
      readonly fireTime: number | null;
      readonly count: number;
      readonly instanceId: string;
    }
  | {
      readonly kind: 'orphaned';
      readonly job: string;
      readonly fireTime: number;
      readonly token: number;
      /** The instance that died running it. */
      readonly owner: string;
      readonly instanceId: string;
    };
