// One behaviour spec for ConsulLeaderService, run twice: against the real service on a real Consul
// agent, and against the testing stub that users put in its place. What users' tests see with the
// stub must be what production does; each behaviour here is a claim of the README about both.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  LeaderOnly,
  LeadershipLostError,
  type ConsulLeaderModuleOptions,
  type ConsulLeaderServiceStub,
  type LeadershipState,
} from '../../lib';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, memoryLogger, pollUntil, uniqueKey } from '../support/election-kit';

const DRAIN_TIMEOUT_MS = 500;

@Injectable()
class Jobs {
  runs = 0;
  private finish: () => void = () => undefined;

  constructor(readonly leadership: ConsulLeaderService) {}

  @LeaderOnly()
  run(): number | null {
    this.runs += 1;
    return this.leadership.fencingToken;
  }

  /** Waits until `release()`, then reports what it sees of its term. */
  @LeaderOnly()
  async outlive(): Promise<{ aborted: boolean; reason: unknown; fencingToken: number | null }> {
    await new Promise<void>((resolve) => (this.finish = resolve));
    const { signal, fencingToken } = this.leadership;
    return { aborted: signal.aborted, reason: signal.reason, fencingToken };
  }

  @LeaderOnly()
  never(): Promise<void> {
    return new Promise<void>(() => undefined);
  }

  release(): void {
    this.finish();
  }
}

/** How each side makes an app and makes its instance lead. */
interface Driver {
  start(): Promise<TestingModule>;
  lead(app: TestingModule): Promise<void>;
}

let agent: ConsulAgent | undefined;
const consul = async (): Promise<ConsulAgent> => (agent ??= await startConsulAgent());
afterAll(() => agent?.stop());

const realOptions = async (instanceId: string): Promise<ConsulLeaderModuleOptions> => {
  const { host, port } = await consul();
  return {
    key: uniqueKey('behaviour'),
    instanceId,
    consul: { host, port },
    ...FAST_TIMINGS,
    logger: memoryLogger(instanceId),
    resignPause: '1m', // after resign() it stays a follower for the rest of the test
    drainTimeout: DRAIN_TIMEOUT_MS,
  };
};

const drivers: Array<[string, Driver]> = [
  [
    'the real service on a real agent',
    {
      start: async () => {
        const moduleRef = await Test.createTestingModule({
          imports: [ConsulLeaderModule.forRoot(await realOptions('real'))],
          providers: [Jobs],
        }).compile();
        return moduleRef.init();
      },
      lead: async (app) => {
        await pollUntil('the only candidate to lead', () => app.get(Jobs).leadership.isLeader());
      },
    },
  ],
  [
    'the testing stub',
    {
      start: async () => {
        const stub = createConsulLeaderServiceStub({
          instanceId: 'stub',
          key: 'behaviour/stub',
          drainTimeout: DRAIN_TIMEOUT_MS,
        });
        const moduleRef = await Test.createTestingModule({
          imports: [ConsulLeaderModule.forRoot({ key: 'behaviour/stub', consul: { port: 1 } })],
          providers: [Jobs],
        })
          .overrideProvider(ConsulLeaderService)
          .useValue(stub)
          .compile();
        return moduleRef.init();
      },
      lead: async (app) =>
        (app.get(ConsulLeaderService) as unknown as ConsulLeaderServiceStub).becomeLeader(),
    },
  ],
];

describe.each(drivers)('ConsulLeaderService behaviour: %s', (_side, driver) => {
  let app: TestingModule;
  let jobs: Jobs;
  let service: ConsulLeaderService;
  let closed: boolean;

  beforeEach(async () => {
    app = await driver.start();
    jobs = app.get(Jobs);
    service = jobs.leadership;
    closed = false;
  });
  afterEach(async () => {
    if (!closed) await app.close();
  });

  it('names its instance, key and election', () => {
    expect(service.instanceId).toEqual(expect.any(String));
    expect(service.key).toEqual(expect.any(String));
    expect(service.name).toBeNull();
  });

  it('while leading: isLeader() and isLeader$ say so, the term has a token and a live signal, @LeaderOnly runs', async () => {
    await driver.lead(app);
    const seen: boolean[] = [];
    service.isLeader$.subscribe((isLeader) => seen.push(isLeader));
    expect(seen).toEqual([true]);
    expect(service.isLeader()).toBe(true);
    expect(service.fencingToken).toEqual(expect.any(Number));
    expect(service.signal.aborted).toBe(false);
    expect(jobs.run()).toBe(service.fencingToken);
    expect(service.state.leader?.instanceId).toBe(service.instanceId);
  });

  it('after resign(): the term signal aborts with a LeadershipLostError, no token, @LeaderOnly is skipped', async () => {
    await driver.lead(app);
    const signal = service.signal;
    await service.resign();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(LeadershipLostError);
    expect((signal.reason as LeadershipLostError).reason).toBe('resign');
    expect(service.isLeader()).toBe(false);
    expect(service.fencingToken).toBeNull();
    expect(service.signal.aborted).toBe(true);
    expect(jobs.run()).toBeUndefined();
    expect(jobs.runs).toBe(0);
  });

  it('a @LeaderOnly call that outlives its term keeps that term: aborted signal, same token', async () => {
    await driver.lead(app);
    const token = service.fencingToken;
    const outliving = jobs.outlive()!;
    const resigned = service.resign();
    await pollUntil('the step-down', () => !service.isLeader());
    jobs.release();
    expect(await outliving).toEqual({
      aborted: true,
      reason: expect.any(LeadershipLostError),
      fencingToken: token,
    });
    await resigned;
  });

  it('resign() waits for an in-flight @LeaderOnly call before it resolves', async () => {
    await driver.lead(app);
    let finished = false;
    const outliving = jobs.outlive()!.then(() => (finished = true));
    const resigned = service.resign().then(() => finished);
    await pollUntil('the step-down', () => !service.isLeader());
    jobs.release();
    expect(await resigned).toBe(true);
    await outliving;
  });

  it('app.close() waits for a never-settling @LeaderOnly call only up to drainTimeout, then completes the streams', async () => {
    await driver.lead(app);
    void jobs.never();
    const states: LeadershipState['role'][] = [];
    let completed = false;
    service.state$.subscribe({
      next: (state) => states.push(state.role),
      complete: () => (completed = true),
    });
    const started = performance.now();
    await app.close();
    closed = true;
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 20);
    expect(took).toBeLessThan(DRAIN_TIMEOUT_MS + 3_000);
    expect(states.at(-1)).toBe('stopped');
    expect(completed).toBe(true);
  });
});

describe('the testing stub across apps', () => {
  it('serves a second app after the first closed: its subscribers get values, not just complete', async () => {
    const stub = createConsulLeaderServiceStub({ leader: true });
    const start = () =>
      Test.createTestingModule({
        imports: [
          ConsulLeaderModule.forRoot({ key: 'behaviour/shared-stub', consul: { port: 1 } }),
        ],
        providers: [Jobs],
      })
        .overrideProvider(ConsulLeaderService)
        .useValue(stub)
        .compile()
        .then((moduleRef) => moduleRef.init());
    const first = await start();
    await first.close();
    const second = await start();
    const seen: boolean[] = [];
    stub.isLeader$.subscribe((isLeader) => seen.push(isLeader));
    stub.becomeLeader();
    expect(seen).toEqual([false, true]);
    expect(second.get(Jobs).run()).toBe(stub.fencingToken);
    await second.close();
  });
});
