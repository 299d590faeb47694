import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsulLeaderService, LeaderOnly } from '../lib';

@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);
  private ticks = 0;

  constructor(private readonly leadership: ConsulLeaderService) {}

  /**
   * Runs every second on the leader only; on the other instances the call is skipped.
   * `@LeaderOnly()` sits below `@Cron` so it wraps the method before the scheduler records it.
   */
  @Cron(CronExpression.EVERY_SECOND)
  @LeaderOnly()
  async tick(): Promise<void> {
    // Both belong to the term this call started in (also after an await): the signal is aborted
    // the moment that term ends, and the fencing token lets whatever this job writes to reject a
    // leader that has been replaced.
    const { signal, fencingToken } = this.leadership;
    if (signal.aborted) return;
    this.ticks += 1;
    this.logger.log(`tick ${this.ticks} (fencing token ${fencingToken})`);
    try {
      // Stands in for real work (a batch, a downstream write carrying `fencingToken`); passing the
      // signal makes it stop as soon as this instance is no longer the leader.
      await sleep(200, undefined, { signal });
    } catch (error) {
      if (!signal.aborted) throw error;
      this.logger.warn(`tick ${this.ticks} abandoned: leadership ended while it ran`);
    }
  }
}
