// The @ClusterCron instruments on their own, with the real @opentelemetry/sdk-metrics, fed the
// FireEvents a runner emits. What a real runner records is in test/e2e/cluster-cron.e2e.spec.ts.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ClusterCronMetricNames, clusterCronMetrics } from '../../../lib/metrics';
import { CollectingReader, metricPoints } from '../../support/metric-points';

describe('the @ClusterCron metrics', () => {
  const reader = new CollectingReader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
  const record = clusterCronMetrics(meter, { key: 'svc/leader', instanceId: 'me' });
  const points = (name: string) => metricPoints(reader, name);
  const base = { job: 'report', instanceId: 'me' };

  it('counts each fire by outcome, a summary of skipped fires by its count, and a first run’s lag', async () => {
    record({ kind: 'started', ...base, fireTime: 1_000, token: 7, attempt: 1, at: 1_250 });
    record({
      kind: 'ended',
      ...base,
      fireTime: 1_000,
      token: 7,
      attempt: 1,
      outcome: 'done',
      at: 2_000,
    });
    record({
      kind: 'ended',
      ...base,
      fireTime: 2_000,
      token: 9,
      attempt: 1,
      outcome: 'failed',
      at: 2_500,
    });
    record({ kind: 'skipped', ...base, reason: 'overlap', fireTime: 3_000, count: 1 });
    record({ kind: 'skipped', ...base, reason: 'misfire', fireTime: null, count: 40 });
    record({ kind: 'orphaned', ...base, fireTime: 4_000, token: 11, owner: 'dead' });
    // A re-run of an orphan starts late by design: not a lag of the schedule.
    record({ kind: 'started', ...base, fireTime: 4_000, token: 12, attempt: 2, at: 60_000 });
    const fires = await points(ClusterCronMetricNames.fires);
    const byOutcome = Object.fromEntries(
      fires.map((point) => [String(point.attributes.outcome), point.value]),
    );
    expect(byOutcome).toEqual({
      ran: 1,
      failed: 1,
      'skipped-overlap': 1,
      missed: 40,
      orphaned: 1,
    });
    expect(fires[0].attributes).toMatchObject({ key: 'svc/leader', instance: 'me', job: 'report' });
    const [lag] = await points(ClusterCronMetricNames.fireLag);
    expect(lag.value).toMatchObject({ count: 1, sum: 250 });
  });
});
