import type { Attributes, Meter } from '@opentelemetry/api';
import type { FireEvent } from '../scheduler/cluster-job';

/** The `@ClusterCron` instruments' names, as a dashboard or an alert refers to them. */
export const ClusterCronMetricNames = {
  fires: 'cluster_cron.fires',
  fireLag: 'cluster_cron.fire.lag',
} as const;

/** What a fire's outcome is counted as in `cluster_cron.fires`. */
export type FireOutcome = 'ran' | 'failed' | 'skipped-overlap' | 'missed' | 'orphaned';

/**
 * The recorder of one election's `@ClusterCron` fires on `meter`, fed with the runners' events:
 * - `cluster_cron.fires` — counter, attributes `key`, `instance`, `job`, `outcome`: `ran` (ended
 *   well), `failed` (threw), `skipped-overlap` (its previous run still ran), `missed` (no owner on
 *   time and the misfire policy skipped it), `orphaned` (its owner died mid-run); counted by the
 *   instance that saw it, so the sum over instances is the cluster's;
 * - `cluster_cron.fire.lag` — histogram (ms) of how late a run started after its fire time T
 *   (a late run of the misfire policy shows as a large lag), attributes `key`, `instance`, `job`.
 * With the no-op meter of `@opentelemetry/api` (no SDK registered) every call is a no-op.
 */
export function clusterCronMetrics(
  meter: Meter,
  election: { readonly key: string; readonly instanceId: string },
): (event: FireEvent) => void {
  const base: Attributes = { key: election.key, instance: election.instanceId };
  const fires = meter.createCounter(ClusterCronMetricNames.fires, {
    description: '@ClusterCron fires by outcome: ran, failed, skipped-overlap, missed, orphaned',
  });
  const lag = meter.createHistogram(ClusterCronMetricNames.fireLag, {
    description: 'How late a @ClusterCron run started after its scheduled fire time',
    unit: 'ms',
  });
  const count = (job: string, outcome: FireOutcome, n = 1): void =>
    fires.add(n, { ...base, job, outcome });
  return (event) => {
    switch (event.kind) {
      case 'started':
        // A re-run of an orphan starts late by design: its lag is not the schedule's.
        if (event.attempt === 1)
          lag.record(Math.max(0, event.at - event.fireTime), { ...base, job: event.job });
        return;
      case 'ended':
        return count(event.job, event.outcome === 'done' ? 'ran' : 'failed');
      case 'skipped':
        return count(
          event.job,
          event.reason === 'overlap' ? 'skipped-overlap' : 'missed',
          event.count,
        );
      case 'orphaned':
        return count(event.job, 'orphaned');
    }
  };
}
