import type { ElectionLogger } from '../election/options/election-options';
import type { FireEvent } from './cluster-job';
import type { FirePlan } from './misfire-plan';
import { SchedulerMessages } from './scheduler.messages';

/**
 * Every fire not run is said twice: a log line with its reason, and a {@link FireEvent} (metrics,
 * ledgers). One place, so that no skip is logged without its event, or counted without its line.
 */
export class FireReports {
  constructor(
    private readonly job: string,
    private readonly instanceId: string,
    private readonly logger: ElectionLogger,
    private readonly onEvent: ((event: FireEvent) => void) | undefined,
  ) {}

  emit(event: FireEvent): void {
    this.onEvent?.(event);
  }

  misfires(plan: FirePlan): void {
    if (plan.skippedUnlisted > 0) {
      this.logger.warn(
        SchedulerMessages.skippedEarlier(this.job, plan.skippedUnlisted, plan.exact),
      );
      this.emit({
        kind: 'skipped',
        job: this.job,
        reason: 'misfire',
        fireTime: null,
        count: plan.skippedUnlisted,
        instanceId: this.instanceId,
      });
    }
    for (const fireTime of plan.skipped) this.skip(fireTime, 'misfire');
  }

  skip(fireTime: number, reason: 'overlap' | 'misfire'): void {
    this.logger.warn(SchedulerMessages.skipped(this.job, fireTime, reason));
    this.emit({
      kind: 'skipped',
      job: this.job,
      reason,
      fireTime,
      count: 1,
      instanceId: this.instanceId,
    });
  }

  /** A run recorded orphaned; `message` is the log line that says why. */
  orphaned(run: { fireTime: number; owner: string }, token: number, message: string): void {
    this.logger.warn(message);
    this.emit({
      kind: 'orphaned',
      job: this.job,
      fireTime: run.fireTime,
      token,
      owner: run.owner,
      instanceId: this.instanceId,
    });
  }
}
