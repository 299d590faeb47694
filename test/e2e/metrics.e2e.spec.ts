// OpenTelemetry metrics of three Nest apps electing through a real Consul agent, read with the real
// @opentelemetry/sdk-metrics and an in-memory reader: the acceptance of issue 12 ("is_leader = 1 on
// exactly one of three instances, and a transition with reason stop after the leader closes").
import 'reflect-metadata';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConsulLeaderModule, ConsulLeaderService } from '../../lib';
import { ElectionMetricNames } from '../../lib/metrics';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, pollUntil, uniqueKey } from '../support/election-kit';
import { metricPoints, type Point } from '../support/metric-points';

describe('OpenTelemetry metrics with the real SDK and a real Consul agent', () => {
  let agent: ConsulAgent;
  let reader: PeriodicExportingMetricReader;
  let provider: MeterProvider;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    agent = await startConsulAgent();
    // The app registers its SDK before it creates the Nest app, as a user's main.ts does.
    reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await provider?.shutdown();
    metrics.disable();
    await agent?.stop();
  });

  async function startApp(
    key: string,
    instanceId: string,
    extra: { metrics?: boolean } = {},
  ): Promise<INestApplicationContext> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConsulLeaderModule.forRoot({
          key,
          instanceId,
          consul: { host: agent.host, port: agent.port },
          ...FAST_TIMINGS,
          ...extra,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    apps.push(moduleRef);
    return moduleRef;
  }

  /** The data points of one instrument at a collection now. */
  const points = (name: string, key: string): Promise<Point[]> => metricPoints(reader, name, key);

  const leaderOf = (running: INestApplicationContext[]) =>
    running.find((app) => app.get(ConsulLeaderService).isLeader());

  it('shows is_leader = 1 on exactly one of three instances, then a transition "stop" when the leader closes', async () => {
    const key = uniqueKey('metrics');
    const running = [
      await startApp(key, 'one'),
      await startApp(key, 'two'),
      await startApp(key, 'three'),
    ];
    const leader = await pollUntil('a leader', () => leaderOf(running));
    const leaderId = leader.get(ConsulLeaderService).instanceId;

    const gauge = await points(ElectionMetricNames.isLeader, key);
    expect(gauge.map((point) => [point.attributes.instance, point.value]).sort()).toEqual(
      ['one', 'two', 'three'].map((id) => [id, id === leaderId ? 1 : 0]).sort(),
    );
    expect(await points(ElectionMetricNames.transitions, key)).toEqual([
      { attributes: { key, instance: leaderId, reason: 'acquired' }, value: 1 },
    ]);

    // Confirmations run every renewInterval (300 ms) while leading.
    const confirmations = await pollUntil('a confirmation', async () => {
      const [histogram] = await points(ElectionMetricNames.confirmDuration, key);
      return (histogram?.value as { count: number } | undefined)?.count ? histogram : undefined;
    });
    expect(confirmations.attributes).toEqual({ key, instance: leaderId, confirmed: true });
    expect((confirmations.value as { max?: number }).max).toBeLessThan(200);

    await leader.close();
    apps.splice(apps.indexOf(leader), 1);
    expect(await points(ElectionMetricNames.transitions, key)).toContainEqual({
      attributes: { key, instance: leaderId, reason: 'stop' },
      value: 1,
    });
    // The closed instance reports 0 (not a stale 1); one of the other two takes over.
    const others = running.filter((app) => app !== leader);
    const next = await pollUntil('the next leader', () => leaderOf(others));
    const after = await points(ElectionMetricNames.isLeader, key);
    expect(
      after.filter((point) => point.value === 1).map((point) => point.attributes.instance),
    ).toEqual([next.get(ConsulLeaderService).instanceId]);
  });

  it('counts failed requests by kind while Consul is away', async () => {
    const key = uniqueKey('metrics-problems');
    const app = await startApp(key, 'lonely');
    await pollUntil('a leader', () => app.get(ConsulLeaderService).isLeader() || undefined);
    await agent.kill('SIGKILL');
    try {
      const problems = await pollUntil('problems counted', async () => {
        const counted = await points(ElectionMetricNames.problems, key);
        return counted.length > 0 ? counted : undefined;
      });
      expect(problems[0]).toMatchObject({
        attributes: { key, instance: 'lonely', kind: 'unreachable' },
        value: expect.any(Number),
      });
      // The lease (600 ms) runs out without a confirmation: the leader steps down.
      await pollUntil('a transition "deadline"', async () =>
        (await points(ElectionMetricNames.transitions, key)).find(
          (point) => point.attributes.reason === 'deadline' && point.value === 1,
        ),
      );
    } finally {
      await agent.restart();
    }
  });

  it('records nothing for an election with metrics: false', async () => {
    const key = uniqueKey('metrics-off');
    const app = await startApp(key, 'quiet', { metrics: false });
    await pollUntil('a leader', () => app.get(ConsulLeaderService).isLeader() || undefined);
    for (const name of Object.values(ElectionMetricNames))
      expect(await points(name, key)).toEqual([]);
  });
});
