// The NestJS integration against a real Consul agent: several Nest apps in one process compete for
// one key through ConsulLeaderModule, and @LeaderOnly jobs run on the leader app only.
import 'reflect-metadata';
import {
  Injectable,
  Module,
  type INestApplicationContext,
  type LoggerService,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Test, type TestingModule, type TestingModuleBuilder } from '@nestjs/testing';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  getConsulLeaderToken,
  InjectConsulLeader,
  LeaderOnly,
  type ConsulLeaderModuleOptions,
} from '../../lib';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, pollUntil, uniqueKey } from '../support/election-kit';

const TICK_MS = 200;

@Injectable()
class TickJob {
  /** `performance.now()` of every tick that ran. */
  readonly ticks: number[] = [];

  @LeaderOnly()
  @Interval(TICK_MS)
  tick(): void {
    this.ticks.push(performance.now());
  }
}

/** One Nest app (as a user's AppModule would be), its job, and what its isLeader$ emitted. */
interface RunningApp {
  readonly id: string;
  readonly context: INestApplicationContext;
  readonly service: ConsulLeaderService;
  readonly job: TickJob;
  readonly isLeaderSeen: boolean[];
  /** `performance.now()` of each `true` from isLeader$. */
  readonly becameLeaderAt: number[];
  isLeaderCompleted: boolean;
  closed: boolean;
}

describe('ConsulLeaderModule with a real Consul agent', () => {
  let agent: ConsulAgent;
  const logged: Array<{ level: string; message: string; context?: string }> = [];
  const running: RunningApp[] = [];

  // TestingModuleBuilder.compile() installs its own logger, so each app is compiled with this one.
  const record = (level: string) => (message: unknown, context?: unknown) =>
    void logged.push({
      level,
      message: String(message),
      context: typeof context === 'string' ? context : undefined,
    });
  const recordingLogger: LoggerService = {
    log: record('log'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
    verbose: record('verbose'),
    fatal: record('fatal'),
  };

  beforeAll(async () => {
    agent = await startConsulAgent();
  });

  afterEach(async () => {
    await Promise.all(running.filter((app) => !app.closed).map((app) => app.context.close()));
    running.length = 0;
  });

  afterAll(async () => {
    await agent?.stop();
  });

  const electionOptions = (key: string, id: string): ConsulLeaderModuleOptions => ({
    key,
    instanceId: id,
    consul: { host: agent.host, port: agent.port },
    ...FAST_TIMINGS,
  });

  /** Compiles and inits an app (with the recording logger); afterEach closes it if the test did not. */
  async function initApp(builder: TestingModuleBuilder): Promise<TestingModule> {
    const moduleRef = await builder.setLogger(recordingLogger).compile();
    running.push({ id: 'app', context: moduleRef, closed: false } as unknown as RunningApp);
    await moduleRef.init();
    return moduleRef;
  }

  async function startApp(
    id: string,
    imports: unknown[],
    providers: unknown[] = [TickJob],
    electionName?: string,
  ): Promise<RunningApp> {
    const moduleRef = await Test.createTestingModule({
      imports: imports as never[],
      providers: providers as never[],
    })
      .setLogger(recordingLogger)
      .compile();
    const service = moduleRef.get<ConsulLeaderService>(getConsulLeaderToken(electionName));
    const app: RunningApp = {
      id,
      context: moduleRef,
      service,
      job: providers.includes(TickJob) ? moduleRef.get(TickJob) : new TickJob(),
      isLeaderSeen: [],
      becameLeaderAt: [],
      isLeaderCompleted: false,
      closed: false,
    };
    service.isLeader$.subscribe({
      next: (value) => {
        app.isLeaderSeen.push(value);
        if (value) app.becameLeaderAt.push(performance.now());
      },
      complete: () => (app.isLeaderCompleted = true),
    });
    running.push(app);
    await moduleRef.init();
    return app;
  }

  const close = async (app: RunningApp) => {
    app.closed = true;
    await app.context.close();
  };

  const leaders = (apps: RunningApp[]) =>
    apps.filter((app) => !app.closed && app.service.isLeader());

  it('runs an @Interval @LeaderOnly job only in the leader app of three, and in another after the leader closes', async () => {
    const key = uniqueKey('nest-e2e/three-apps');
    const ids = ['app-a', 'app-b', 'app-c'];
    const apps = await Promise.all(
      ids.map((id) =>
        startApp(id, [
          ScheduleModule.forRoot(),
          ConsulLeaderModule.forRoot(electionOptions(key, id)),
        ]),
      ),
    );

    const first = await pollUntil('one leader among the three apps', () =>
      leaders(apps).length === 1 ? leaders(apps)[0] : undefined,
    );
    await pollUntil('three ticks on the leader', () => first.job.ticks.length >= 3);
    await pollUntil('every app to see the same leader', () =>
      apps.every((app) => app.service.state.leader?.instanceId === first.id),
    );
    const others = apps.filter((app) => app !== first);
    expect(others.map((app) => app.job.ticks.length)).toEqual([0, 0]);
    expect(leaders(apps)).toEqual([first]);

    await close(first);
    const closedAt = performance.now();
    const lastTickOfFirst = first.job.ticks.at(-1)!;
    const second = await pollUntil('a new leader among the other two', () =>
      leaders(others).length === 1 ? leaders(others)[0] : undefined,
    );
    await pollUntil('the new leader to tick', () => second.job.ticks.length >= 2);
    const third = others.find((app) => app !== second)!;

    // The old leader's job stopped before close() returned; the new one started after it.
    expect(first.job.ticks.every((at) => at <= closedAt)).toBe(true);
    expect(second.job.ticks[0]).toBeGreaterThan(lastTickOfFirst);
    expect(third.job.ticks).toEqual([]);
    expect(second.service.fencingToken).toBeGreaterThan(0);

    await close(third); // the follower first, so that it never leads
    await close(second);
    expect(first.isLeaderSeen).toEqual([false, true, false]);
    expect(second.isLeaderSeen).toEqual([false, true, false]);
    expect(third.isLeaderSeen).toEqual([false]);
    expect(apps.map((app) => app.isLeaderCompleted)).toEqual([true, true, true]);

    // Transitions are logged through Nest's Logger at `log`; skipped ticks at `debug`.
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'log',
        context: 'ConsulLeader',
        message: expect.stringContaining('Became leader'),
      }),
    );
    expect(logged).toContainEqual({
      level: 'debug',
      context: 'ConsulLeader',
      message:
        'Skipped TickJob.tick: this instance is not the leader (logged once per method until the role changes)',
    });
  });

  it('keeps the key through shutdown until an in-flight @LeaderOnly call has finished', async () => {
    @Injectable()
    class SlowJob {
      finishedAt: number | null = null;
      private finish: () => void = () => undefined;

      @LeaderOnly()
      async work(): Promise<void> {
        await new Promise<void>((resolve) => (this.finish = resolve));
        this.finishedAt = performance.now();
      }

      release(): void {
        this.finish();
      }
    }
    const key = uniqueKey('nest-e2e/drain');
    const leader = await startApp(
      'drain-leader',
      [ConsulLeaderModule.forRoot(electionOptions(key, 'drain-leader'))],
      [SlowJob],
    );
    await pollUntil('the first app to lead', () => leader.service.isLeader());
    const follower = await startApp(
      'drain-follower',
      [ConsulLeaderModule.forRoot(electionOptions(key, 'drain-follower'))],
      [SlowJob],
    );
    await pollUntil(
      'the follower to see the leader',
      () => follower.service.state.leader?.instanceId === 'drain-leader',
    );

    const slow = leader.context.get(SlowJob);
    const signal = leader.service.signal!;
    const work = slow.work();
    const closing = close(leader);
    await pollUntil(
      'the leader to step down locally',
      () => signal.aborted && !leader.service.isLeader(),
    );
    // Longer than the lease, the session TTL check and the lock-delay: only the held key keeps the
    // follower out now. The wait proves a negative (nothing happens), so it is measured in time.
    const steppedDownAt = performance.now();
    await pollUntil(
      '1.2 s after the step-down',
      () => performance.now() - steppedDownAt > 1_200 || undefined,
    );
    expect(follower.service.isLeader()).toBe(false);
    slow.release();
    await work;
    await closing;
    await pollUntil('the follower to take over', () => follower.service.isLeader());
    expect(follower.becameLeaderAt[0]).toBeGreaterThan(slow.finishedAt!);
  });

  it('reads its options from ConfigService through forRootAsync and, as the only candidate, bootstraps as leader with waitForElection', async () => {
    const key = uniqueKey('nest-e2e/config');
    const app = await startApp('configured', [
      ScheduleModule.forRoot(),
      ConsulLeaderModule.forRootAsync({
        imports: [
          ConfigModule.forRoot({
            ignoreEnvFile: true,
            load: [() => ({ consul: { host: agent.host, port: agent.port }, leaderKey: key })],
          }),
        ],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({
          key: config.getOrThrow<string>('leaderKey'),
          consul: config.getOrThrow<{ host: string; port: number }>('consul'),
          instanceId: 'configured',
          waitForElection: true,
          ...FAST_TIMINGS,
        }),
      }),
    ]);
    expect(app.service.key).toBe(key);
    // Bootstrap waited for a real outcome, not for the first read of the free key.
    expect(app.service.isLeader()).toBe(true);
    expect(logged.filter((line) => line.message.startsWith('First election result'))).toEqual([
      { level: 'log', context: 'ConsulLeader', message: 'First election result: leader' },
    ]);
    await pollUntil('its job to tick', () => app.job.ticks.length >= 1);
  });

  it('runs two named elections side by side in one app, each job by its own election', async () => {
    @Injectable()
    class RoleJobs {
      billingRuns = 0;
      reportsRuns = 0;
      constructor(
        @InjectConsulLeader('billing') readonly billing: ConsulLeaderService,
        @InjectConsulLeader('reports') readonly reports: ConsulLeaderService,
      ) {}

      @LeaderOnly('billing')
      @Interval(TICK_MS / 2)
      bill(): void {
        this.billingRuns += 1;
      }

      @Interval(TICK_MS / 2)
      @LeaderOnly('reports')
      report(): void {
        this.reportsRuns += 1;
      }
    }
    const billingKey = uniqueKey('nest-e2e/billing');
    const reportsKey = uniqueKey('nest-e2e/reports');
    const named = (name: string, key: string, id: string) =>
      ConsulLeaderModule.forRoot({ ...electionOptions(key, id), name });

    // Another app holds the reports key first.
    const reportsHolder = await startApp(
      'reports-holder',
      [named('reports', reportsKey, 'reports-holder')],
      [],
      'reports',
    );
    await pollUntil('the other app to lead reports', () => reportsHolder.service.isLeader());

    const moduleRef = await initApp(
      Test.createTestingModule({
        imports: [
          ScheduleModule.forRoot(),
          named('billing', billingKey, 'both'),
          named('reports', reportsKey, 'both'),
        ],
        providers: [RoleJobs],
      }),
    );
    const jobs = moduleRef.get(RoleJobs);
    await pollUntil('the app to lead billing', () => jobs.billing.isLeader());
    await pollUntil('billing ticks', () => jobs.billingRuns >= 3);
    await pollUntil(
      'the app to see who leads reports',
      () => jobs.reports.state.leader?.instanceId === 'reports-holder',
    );
    expect(jobs.reports.isLeader()).toBe(false);
    expect(jobs.reportsRuns).toBe(0);
    expect([jobs.billing.key, jobs.reports.key]).toEqual([billingKey, reportsKey]);

    await close(reportsHolder);
    await pollUntil('the app to take over reports', () => jobs.reports.isLeader());
    await pollUntil('reports ticks', () => jobs.reportsRuns >= 1);
  });

  it('lets a user test their app without Consul by overriding ConsulLeaderService with the stub', async () => {
    @Module({
      imports: [
        ScheduleModule.forRoot(),
        ConsulLeaderModule.forRoot({ key: 'service/billing/leader' }),
      ],
      providers: [TickJob],
    })
    class UsersAppModule {}

    const leadership = createConsulLeaderServiceStub();
    const moduleRef = await initApp(
      Test.createTestingModule({ imports: [UsersAppModule] })
        .overrideProvider(ConsulLeaderService)
        .useValue(leadership),
    );
    const job = moduleRef.get(TickJob);
    leadership.becomeLeader();
    await pollUntil('a tick as leader', () => job.ticks.length >= 1);
    leadership.becomeFollower();
    const ticksAsLeader = job.ticks.length;
    const flippedAt = performance.now();
    await pollUntil(
      'three tick periods',
      () => performance.now() - flippedAt > 3 * TICK_MS || undefined,
    );
    expect(job.ticks.length).toBe(ticksAsLeader);
  });
});
