import { Injectable, Logger } from '@nestjs/common';
import { CronExpression } from '@nestjs/schedule';
import { ClusterCron, type FireContext } from 'nestjs-consul-leader';

@Injectable()
export class ReportsJob {
  private readonly logger = new Logger(ReportsJob.name);

  // Once per fire across every instance; a fire missed during a failover runs late, not never.
  @ClusterCron(CronExpression.EVERY_5_SECONDS, { name: 'sales-report', misfire: 'run-once' })
  async buildReport({ fireTime, fencingToken, signal }: FireContext): Promise<void> {
    if (signal.aborted) return; // this instance stopped running the jobs meanwhile
    // fireTime is the scheduled time T, the fire's identity: build the report *for* it, and hand
    // the token to what you write, so that a stale owner's late write is refused.
    this.logger.log(`Report for ${fireTime.toISOString()} (fencing token ${fencingToken})`);
  }
}
