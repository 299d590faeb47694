// @ClusterCron in Nest apps electing through a real Consul agent: the explorer finds the jobs, the
// leader runs each fire once, a graceful handoff neither loses nor doubles one, ClusterScheduler
// describes and triggers, and the metrics count what the runners report.
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ConsulLeaderHealthIndicator } from '../../lib/terminus';
import {
  ClusterCron,
  ClusterScheduler,
  ConsulLeaderModule,
  ConsulLeaderService,
  LeaderOnly,
  type FireContext,
} from '../../lib';
import { ClusterCronMetricNames } from '../../lib/metrics';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, pollUntil, uniqueKey } from '../support/election-kit';
import { metricPoints } from '../support/metric-points';

interface Fire {
  readonly job: string;
  readonly instance: string;
  readonly fireTime: number;
  readonly token: number;
  readonly attempt: number;
  readonly startedAt: number;
}

/** Every fire of every app of a test, in start order. */
let ledger: Fire[] = [];

function jobsOf(instance: string) {
  @Injectable()
  class Jobs {
    // Fires missed during a handoff are caught up, so the ledger must have every second.
    @ClusterCron('* * * * * *', { misfire: { catchUp: 10, within: '10s' } })
    everySecond(context: FireContext): void {
      ledger.push(fire('everySecond', instance, context));
    }

    // With @LeaderOnly above: the wrapper carries the metadata, and runs on the leader anyway.
    @LeaderOnly()
    @ClusterCron('*/2 * * * * *', { name: 'two-seconds', overlap: 'allow' })
    twoSeconds(context: FireContext): void {
      ledger.push(fire('two-seconds', instance, context));
    }
  }
  return Jobs;
}

function fire(job: string, instance: string, context: FireContext): Fire {
  return {
    job,
    instance,
    fireTime: context.fireTime.getTime(),
    token: context.fencingToken,
    attempt: context.attempt,
    startedAt: Date.now(),
  };
}

describe('@ClusterCron in Nest apps on a real Consul agent', () => {
  let agent: ConsulAgent;
  let reader: PeriodicExportingMetricReader;
  let provider: MeterProvider;
  const apps: INestApplicationContext[] = [];

  beforeAll(async () => {
    agent = await startConsulAgent();
    reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
  });
  beforeEach(() => {
    ledger = [];
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await provider?.shutdown();
    metrics.disable();
    await agent?.stop();
  });

  async function startApp(key: string, instanceId: string): Promise<INestApplicationContext> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConsulLeaderModule.forRoot({
          key,
          instanceId,
          consul: { host: agent.host, port: agent.port },
          ...FAST_TIMINGS,
        }),
      ],
      providers: [jobsOf(instanceId), HealthIndicatorService],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    apps.push(moduleRef);
    return moduleRef;
  }

  const leaderOf = async (list: INestApplicationContext[]): Promise<INestApplicationContext> =>
    pollUntil('a leader', () => list.find((app) => app.get(ConsulLeaderService).isLeader()));

  function expectOncePerFire(): void {
    const seen = new Map<string, Fire>();
    for (const entry of ledger) {
      const id = `${entry.job}@${entry.fireTime}`;
      expect({ id, twice: seen.has(id) }).toEqual({ id, twice: false });
      seen.set(id, entry);
    }
    for (const job of new Set(ledger.map((entry) => entry.job))) {
      const tokens = ledger.filter((entry) => entry.job === job).map((entry) => entry.token);
      expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
      expect(new Set(tokens).size).toBe(tokens.length);
    }
  }

  it('runs every fire once across two apps and a graceful handoff, with growing tokens', async () => {
    const key = uniqueKey('cluster-cron-e2e');
    const pair = [await startApp(key, 'a'), await startApp(key, 'b')];
    const first = await leaderOf(pair);
    await pollUntil('3 fires of everySecond', () =>
      ledger.filter((entry) => entry.job === 'everySecond').length >= 3 ? true : undefined,
    );
    const firstId = first.get(ConsulLeaderService).instanceId;
    apps.splice(apps.indexOf(first), 1);
    await first.close();
    const handoffAt = Date.now();
    await pollUntil(
      '3 fires after the handoff',
      () =>
        ledger.filter((entry) => entry.job === 'everySecond' && entry.startedAt > handoffAt)
          .length >= 3 || undefined,
      20_000,
    );
    expectOncePerFire();
    const seconds = ledger
      .filter((entry) => entry.job === 'everySecond')
      .map((entry) => entry.fireTime)
      .sort((x, y) => x - y);
    const gaps = seconds.filter((t, i) => i > 0 && t - seconds[i - 1] !== 1_000);
    expect(gaps).toEqual([]);
    const after = ledger.filter((entry) => entry.startedAt > handoffAt);
    expect(after.every((entry) => entry.instance !== firstId)).toBe(true);
    // Each fire T starts at or after T (the runner's clock is this process's).
    expect(ledger.every((entry) => entry.startedAt >= entry.fireTime)).toBe(true);
    // With @LeaderOnly on top, the job still ran (on the leader).
    expect(ledger.some((entry) => entry.job === 'two-seconds')).toBe(true);
  }, 60_000);

  it('describes each job from one read, and triggers a fenced fire on the leader only', async () => {
    const key = uniqueKey('cluster-cron-describe');
    const pair = [await startApp(key, 'a'), await startApp(key, 'b')];
    const leader = await leaderOf(pair);
    const follower = pair.find((app) => app !== leader)!;
    await pollUntil(
      'a fire of each job',
      () =>
        ['everySecond', 'two-seconds'].every((job) => ledger.some((entry) => entry.job === job)) ||
        undefined,
    );
    const leaderId = leader.get(ConsulLeaderService).instanceId;
    const described = await pollUntil('the follower knows the leader', async () => {
      const jobs = await follower.get(ClusterScheduler).describe();
      return jobs.every((job) => job.owner === leaderId && job.lastFire) ? jobs : undefined;
    });
    expect(described.map((job) => job.name)).toEqual(['Jobs.everySecond', 'two-seconds']);
    for (const job of described) {
      expect(job.ownedHere).toBe(false);
      expect(job.fencingToken).toBe(job.lastFire!.fencingToken);
      expect(job.nextFire.getTime()).toBeGreaterThan(job.lastFire!.fireTime.getTime());
    }
    await expect(follower.get(ClusterScheduler).trigger('two-seconds')).rejects.toThrow(
      /does not lead/,
    );
    await expect(leader.get(ClusterScheduler).trigger('nope')).rejects.toThrow(
      /No @ClusterCron job "nope".*two-seconds/,
    );
    const before = Math.max(...ledger.filter((e) => e.job === 'two-seconds').map((e) => e.token));
    const triggeredAt = Date.now();
    const triggered = await leader.get(ClusterScheduler).trigger('two-seconds');
    expect(triggered.fencingToken).toBeGreaterThan(before);
    expect(triggered.fireTime.getTime()).toBeGreaterThanOrEqual(triggeredAt - 1_000);
    await pollUntil(
      'the triggered fire ran',
      () => ledger.some((entry) => entry.token === triggered.fencingToken) || undefined,
    );
    expectOncePerFire();
    expect(leader.get(ClusterScheduler).ownedJobs()).toEqual(['Jobs.everySecond', 'two-seconds']);
    expect(follower.get(ClusterScheduler).ownedJobs()).toEqual([]);
    const health = (app: INestApplicationContext) =>
      new ConsulLeaderHealthIndicator(
        app.get(HealthIndicatorService),
        app.get(ModuleRef),
      ).isHealthy('leader').leader;
    expect(health(leader)).toMatchObject({ jobs: ['Jobs.everySecond', 'two-seconds'] });
    expect(health(follower)).toMatchObject({ jobs: [] });
  }, 60_000);

  it("writes an aborted run's outcome before the leader releases its key: the next leader finds no orphan", async () => {
    const key = uniqueKey('cluster-cron-drain');
    const lines: string[] = [];
    const logger = (id: string) => ({
      log: () => undefined,
      debug: () => undefined,
      warn: (message: string) => void lines.push(`${id} ${message}`),
      error: (message: string) => void lines.push(`${id} ${message}`),
    });
    let running = 0;
    @Injectable()
    class Slow {
      // Runs until its signal aborts, then takes 300 ms to clean up.
      @ClusterCron('* * * * * *', { name: 'slow' })
      async run({ signal }: FireContext): Promise<void> {
        running += 1;
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => setTimeout(resolve, 300), { once: true }),
        );
      }
    }
    const start = async (instanceId: string) => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ConsulLeaderModule.forRoot({
            key,
            instanceId,
            consul: { host: agent.host, port: agent.port },
            ...FAST_TIMINGS,
            logger: logger(instanceId),
          }),
        ],
        providers: [Slow],
      }).compile();
      moduleRef.useLogger(false);
      await moduleRef.init();
      apps.push(moduleRef);
      return moduleRef;
    };
    const pair = [await start('a'), await start('b')];
    const leader = await leaderOf(pair);
    const follower = pair.find((app) => app !== leader)!;
    await pollUntil('the slow job runs', () => running >= 1 || undefined);
    apps.splice(apps.indexOf(leader), 1);
    await leader.close();
    await pollUntil('the follower runs the next fire', () => running >= 2 || undefined);
    const [slow] = await follower.get(ClusterScheduler).describe();
    expect(slow.lastFire?.state).toBe('running');
    expect(lines.filter((line) => /orphaned/.test(line))).toEqual([]);
  }, 60_000);

  it('counts fires by outcome and records their lag', async () => {
    const key = uniqueKey('cluster-cron-metrics');
    await startApp(key, 'm');
    await pollUntil(
      '2 fires of everySecond ended',
      () => ledger.filter((entry) => entry.job === 'everySecond').length >= 2 || undefined,
    );
    const collected = (name: string) => metricPoints(reader, name, key);
    const ran = await pollUntil('ran counted', async () => {
      const points = await collected(ClusterCronMetricNames.fires);
      const point = points.find(
        (p) => p.attributes.job === 'Jobs.everySecond' && p.attributes.outcome === 'ran',
      );
      return point && (point.value as number) >= 1 ? point : undefined;
    });
    expect(ran.attributes.instance).toBe('m');
    const lag = await collected(ClusterCronMetricNames.fireLag);
    const everySecond = lag.find((p) => p.attributes.job === 'Jobs.everySecond');
    expect((everySecond?.value as { count: number }).count).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
