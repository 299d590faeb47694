// How @ClusterCron jobs are found and checked when a Nest app starts, and how the testing stub runs
// them on demand. Leadership comes from the stub (overrideProvider), so nothing here talks to
// Consul: test/e2e/cluster-cron.e2e.spec.ts runs the jobs on a real agent.
import 'reflect-metadata';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ModuleRef } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  ClusterCron,
  ClusterScheduler,
  ConsulLeaderModule,
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  getClusterSchedulerToken,
  getConsulLeaderToken,
  LeaderOnly,
  type ClusterCronOptions,
  type ConsulLeaderServiceStub,
  type FireContext,
} from '../../../lib';
import { ConsulLeaderHealthIndicator } from '../../../lib/terminus';
import { captureLogs } from './helpers';

const options = {
  key: 'test/unit/cron',
  consul: { host: '127.0.0.1', port: 1 },
  instanceId: 'unit',
};

/** A class with one job of this expression and options (a fresh class each time: metadata is per class). */
function jobClass(cronTime: string, jobOptions?: ClusterCronOptions) {
  @Injectable()
  class Reports {
    readonly fires: FireContext[] = [];
    @ClusterCron(cronTime, jobOptions)
    hourly(context: FireContext): void {
      this.fires.push(context);
    }
  }
  return Reports;
}

async function boot(
  providers: Array<new (...args: never[]) => unknown>,
  stub: ConsulLeaderServiceStub = createConsulLeaderServiceStub(),
  modules = [ConsulLeaderModule.forRoot(options)],
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports: modules, providers })
    .overrideProvider(ConsulLeaderService)
    .useValue(stub)
    .compile();
  moduleRef.useLogger(false);
  return moduleRef.init();
}

describe('@ClusterCron options are checked when the app starts', () => {
  const logs = captureLogs();
  afterAll(() => logs.restore());

  it.each<[string, string, ClusterCronOptions | undefined, RegExp]>([
    [
      'a bad expression',
      '61 * * * * *',
      undefined,
      /@ClusterCron Reports\.hourly: Cron expression "61 \* \* \* \* \*" is invalid.*Accepted: a cron expression as @Cron/,
    ],
    [
      'an unknown time zone',
      '0 * * * *',
      { timeZone: 'Mars/Olympus' },
      /Cron expression "0 \* \* \* \*" in Mars\/Olympus is invalid/,
    ],
    [
      'a name Consul cannot key',
      '0 * * * *',
      { name: 'daily/report' },
      /option "name" is 'daily\/report'; accepted: letters, digits, "\.", "_" and "-", 1 to 128/,
    ],
    [
      'an overlap policy that does not exist',
      '0 * * * *',
      { overlap: 'queue' as never },
      /option "overlap" is 'queue'; accepted: 'skip' or 'allow'/,
    ],
    [
      'a catch-up beyond its range',
      '0 * * * *',
      { misfire: { catchUp: 500, within: '1h' } },
      /option "misfire\.catchUp" is 500; accepted: an integer from 1 to 100/,
    ],
    [
      'a catch-up window that is not a duration',
      '0 * * * *',
      { misfire: { catchUp: 3, within: 'a while' } },
      /option "misfire\.within" is 'a while'; accepted: a duration from 1s to 720h/,
    ],
    [
      'an orphan policy that does not exist',
      '0 * * * *',
      { orphans: 'retry' as never },
      /option "orphans" is 'retry'; accepted: 'record' or 'rerun'/,
    ],
    [
      'a misspelt option',
      '0 * * * *',
      { timezone: 'UTC' } as never,
      /@ClusterCron Reports\.hourly: unknown option "timezone"; known: name, timeZone/,
    ],
  ])(
    'fails the bootstrap on %s, naming the job, the field and what it accepts',
    async (_, cron, jobOptions, message) => {
      await expect(boot([jobClass(cron, jobOptions)])).rejects.toThrow(message);
    },
  );

  it('refuses two jobs of one election with one name, naming both', async () => {
    const First = jobClass('0 * * * *', { name: 'report' });
    @Injectable()
    class Other {
      @ClusterCron('30 * * * *', { name: 'report' })
      run(): void {}
    }
    await expect(boot([First, Other])).rejects.toThrow(
      /Two @ClusterCron jobs of one election are named "report" \(Reports\.hourly and Other\.run\)/,
    );
  });

  it('refuses a job that follows an election the app does not have', async () => {
    await expect(boot([jobClass('0 * * * *', { election: 'billing' })])).rejects.toThrow(
      /@ClusterCron Reports\.hourly follows election "billing", but this app has no such election/,
    );
  });

  it('refuses a static method when the class is declared', () => {
    expect(() => {
      class Static {
        @ClusterCron('0 * * * *')
        static run(): void {}
      }
      return Static;
    }).toThrow(/@ClusterCron Static\.run: only an instance method/);
  });
});

describe('the testing stub runs @ClusterCron jobs on demand', () => {
  const logs = captureLogs();
  afterAll(() => logs.restore());

  it('hands each run a FireContext with the fire time given and a larger token each time', async () => {
    const Reports = jobClass('0 * * * *');
    const stub = createConsulLeaderServiceStub();
    const app = await boot([Reports], stub);
    expect(stub.clusterCronJobs).toEqual(['Reports.hourly']);
    const t = new Date('2026-01-01T10:00:00Z');
    const first = await stub.runClusterCron('Reports.hourly', { fireTime: t });
    const second = await stub.runClusterCron('Reports.hourly');
    expect(first).toMatchObject({ jobName: 'Reports.hourly', fireTime: t, attempt: 1 });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(app.get(Reports).fires).toEqual([first, second]);
    await app.close();
  });

  it('aborts a running job when the app closes, and rejects with what a job throws', async () => {
    let seen: AbortSignal | null = null;
    @Injectable()
    class Slow {
      @ClusterCron('0 * * * *', { name: 'slow' })
      async run({ signal }: FireContext): Promise<void> {
        seen = signal;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        throw new Error('aborted');
      }
    }
    const stub = createConsulLeaderServiceStub();
    const app = await boot([Slow], stub);
    const running = stub.runClusterCron('slow');
    await app.close();
    await expect(running).rejects.toThrow('aborted');
    expect(seen!.aborted).toBe(true);
    await expect(stub.runClusterCron('nope')).rejects.toThrow(/No @ClusterCron job "nope".*slow/);
  });

  it('goes through @LeaderOnly when both decorate the method: skipped on a follower', async () => {
    @Injectable()
    class Both {
      runs = 0;
      @LeaderOnly()
      @ClusterCron('0 * * * *', { name: 'both' })
      run(): void {
        this.runs += 1;
      }
    }
    const stub = createConsulLeaderServiceStub();
    const app = await boot([Both], stub);
    await stub.runClusterCron('both');
    stub.becomeLeader();
    await stub.runClusterCron('both');
    expect(app.get(Both).runs).toBe(1);
    await app.close();
  });

  it('hands a named election its own jobs, through its own stub', async () => {
    const Billing = jobClass('0 * * * *', { election: 'billing', name: 'invoice' });
    const Default = jobClass('0 0 * * *', { name: 'daily' });
    const billingStub = createConsulLeaderServiceStub({ name: 'billing' });
    const defaultStub = createConsulLeaderServiceStub();
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConsulLeaderModule.forRoot(options),
        ConsulLeaderModule.forRoot({ ...options, key: 'test/unit/billing', name: 'billing' }),
      ],
      providers: [Billing, Default],
    })
      .overrideProvider(ConsulLeaderService)
      .useValue(defaultStub)
      .overrideProvider(getConsulLeaderToken('billing'))
      .useValue(billingStub)
      .compile();
    moduleRef.useLogger(false);
    const app = await moduleRef.init();
    expect(billingStub.clusterCronJobs).toEqual(['invoice']);
    expect(defaultStub.clusterCronJobs).toEqual(['daily']);
    expect(app.get(getClusterSchedulerToken('billing'))).toBeInstanceOf(ClusterScheduler);
    await app.close();
  });
});

describe('the health indicator lists the jobs this instance runs', () => {
  const logs = captureLogs();
  afterAll(() => logs.restore());

  it('names no job on a follower, and adds no `jobs` detail for an election without jobs', async () => {
    const app = await boot([jobClass('0 * * * *'), HealthIndicatorService]);
    const indicator = new ConsulLeaderHealthIndicator(
      app.get(HealthIndicatorService),
      app.get(ModuleRef),
    );
    // The stub overrides the service; the scheduler runs no runner, so it owns no job.
    expect(indicator.isHealthy('leader')['leader']).toMatchObject({ jobs: [] });
    await app.close();
    const bare = await boot([HealthIndicatorService]);
    const plain = new ConsulLeaderHealthIndicator(
      bare.get(HealthIndicatorService),
      bare.get(ModuleRef),
    );
    expect(plain.isHealthy('leader')['leader']).not.toHaveProperty('jobs');
    await bare.close();
  });
});
