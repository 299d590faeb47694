import type { Duration } from '../election';

/**
 * Options of one `@ClusterCron` job. Every one is checked when the app starts: a wrong value fails
 * the bootstrap with a message naming the job, the option and what it accepts.
 */
export interface ClusterCronOptions {
  /**
   * The job's identity in Consul (its record is `<election key>/jobs/<name>`): letters, digits, `.`,
   * `_`, `-`, at most 128. Default `Class.method`. Renaming a job starts a new record (its history and
   * decided fires stay with the old name).
   */
  name?: string;
  /** IANA time zone the expression is read in, as `@Cron`'s `timeZone`. Default: the process's. */
  timeZone?: string;
  /**
   * A fire whose previous run still runs anywhere in the cluster: `'skip'` it (logged and counted,
   * the default) or `'allow'` it to run beside.
   */
  overlap?: 'skip' | 'allow';
  /**
   * Fires that had no owner on time (a failover, every instance down): `'skip'` them; `'run-once'`
   * (default) runs the latest one late, skipping the earlier; `{ catchUp: n, within }` runs the latest
   * `n` (1–100) not older than `within` (a duration, 1 s–720 h), oldest first. Every skipped fire is
   * logged and counted.
   */
  misfire?: 'skip' | 'run-once' | { catchUp: number; within: Duration };
  /**
   * A run whose owner died mid-run (its Consul session is gone): `'record'` it as orphaned and do not
   * run it again (at most once, the default), or `'rerun'` it with a larger fencing token (at least
   * once, fenced: `attempt` tells the job it is a re-run).
   */
  orphans?: 'record' | 'rerun';
  /** How late a fire may start and still be on time (not a misfire). Default `'1s'`, range 0–1h. */
  grace?: Duration;
  /** The election whose leader runs this job (`ConsulLeaderModule.forRoot({ name })`); default the unnamed one. */
  election?: string;
}
