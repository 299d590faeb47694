import { Injectable, Logger } from '@nestjs/common';
import { CronExpression } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterCron, type FireContext } from '../lib';

/** The sample's cluster jobs and their schedules (the demo's fire ledger reads them too). */
export const SAMPLE_CLUSTER_JOBS = {
  heartbeat: CronExpression.EVERY_SECOND,
  digest: CronExpression.EVERY_5_SECONDS,
} as const;

/**
 * `@ClusterCron` jobs: each fire runs once across the cluster, claimed in Consul with a fencing
 * token, whoever leads when it is due — also a fire that fell in a failover (it runs late, once, by
 * the default `misfire: 'run-once'`). Compare `JobsService.tick`, which a failover can skip silently.
 */
@Injectable()
export class ReportsService {
  private readonly logger = new Logger(ReportsService.name);

  @ClusterCron(SAMPLE_CLUSTER_JOBS.heartbeat, { name: 'heartbeat' })
  heartbeat(fire: FireContext): void {
    this.ran(fire);
  }

  /** Slower work: a handoff may come while it runs, and its signal says so. */
  @ClusterCron(SAMPLE_CLUSTER_JOBS.digest, { name: 'digest' })
  async digest(fire: FireContext): Promise<void> {
    this.ran(fire);
    try {
      // Stands in for a report whose writes carry `fire.fencingToken`.
      await sleep(1_500, undefined, { signal: fire.signal });
    } catch (error) {
      if (!fire.signal.aborted) throw error;
      this.logger.warn(
        `fire ${fire.jobName} ${fire.fireTime.toISOString()} abandoned: this instance no longer owns the job`,
      );
    }
  }

  private ran(fire: FireContext): void {
    // The phrase the demo's fire ledger reads (scripts/demo/fire-ledger.ts).
    this.logger.log(
      `fire ${fire.jobName} ${fire.fireTime.toISOString()} ran (fencing token ${fire.fencingToken}, attempt ${fire.attempt})`,
    );
  }
}
