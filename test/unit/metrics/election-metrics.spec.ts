// recordElectionMetrics on its own, with the real @opentelemetry/sdk-metrics and a reader the test
// collects from, over an election stand-in whose events the test emits. What three real elections
// record is in test/e2e/metrics.e2e.spec.ts.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { config, EMPTY, Subject, type Observable } from 'rxjs';
import type { ElectionEvent } from '../../../lib';
import { ElectionMetricNames, recordElectionMetrics } from '../../../lib/metrics';
import { CollectingReader, metricPoints } from '../../support/metric-points';

function setup() {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const points = (name: string) => metricPoints(reader, name);
  return { meter, points };
}

const election = (events$: Observable<ElectionEvent>, leader = false) => ({
  instanceId: 'me',
  options: { key: 'svc/leader' },
  events$,
  isLeader: () => leader,
});

describe('recordElectionMetrics', () => {
  it('counts transitions by reason and problems by kind, and records confirmation times', async () => {
    const { meter, points } = setup();
    const events = new Subject<ElectionEvent>();
    recordElectionMetrics(election(events, true), meter);
    events.next({ type: 'transition', reason: 'acquired' });
    events.next({ type: 'confirmation', durationMs: 3, confirmed: true });
    events.next({ type: 'problem', kind: 'timeout', operation: 'hold confirmation' });
    events.next({ type: 'problem', kind: 'timeout', operation: 'key watch' });
    events.next({ type: 'transition', reason: 'deadline' });
    const base = { key: 'svc/leader', instance: 'me' };

    expect(await points(ElectionMetricNames.transitions)).toEqual([
      { attributes: { ...base, reason: 'acquired' }, value: 1 },
      { attributes: { ...base, reason: 'deadline' }, value: 1 },
    ]);
    expect(await points(ElectionMetricNames.problems)).toEqual([
      { attributes: { ...base, kind: 'timeout' }, value: 2 },
    ]);
    const [histogram] = await points(ElectionMetricNames.confirmDuration);
    expect(histogram).toMatchObject({
      attributes: { ...base, confirmed: true },
      value: { count: 1, sum: 3 },
    });
    expect(await points(ElectionMetricNames.isLeader)).toEqual([{ attributes: base, value: 1 }]);
  });

  it('reports 0 for an election that has already stopped, instead of failing', async () => {
    const { meter, points } = setup();
    // rxjs reports an error thrown in a subscriber later, where Node would crash the process.
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    try {
      recordElectionMetrics(election(EMPTY, true), meter);
      // Its report is a setTimeout(0) queued during the call: one queued after it runs later.
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      config.onUnhandledError = null;
    }
    expect(unhandled).toEqual([]);
    expect(await points(ElectionMetricNames.isLeader)).toEqual([
      { attributes: { key: 'svc/leader', instance: 'me' }, value: 0 },
    ]);
  });
});
