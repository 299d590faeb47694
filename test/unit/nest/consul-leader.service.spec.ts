// ConsulLeaderService's side of the contract with the core: when it starts and stops the election,
// what it hands stop() to drain, and how it derives its streams. The election here is a fake that
// records calls; what Consul does is tested in test/e2e with a real agent.
import 'reflect-metadata';
import { BehaviorSubject, NEVER } from 'rxjs';
import type { LeaderElection, LeadershipState } from '../../../lib';
import { ConsulLeaderService, createConsulLeaderServiceStub } from '../../../lib';
import { RUN_AS_LEADER } from '../../../lib/consul-leader.constants';
import { pollUntil } from '../../../harness';
import { captureLogs } from './helpers';

// The stub's first state is a follower's, exactly as the core starts.
const follower: LeadershipState = createConsulLeaderServiceStub({ instanceId: 'me' }).state;

function leaderState(fencingToken: number, signal = new AbortController().signal): LeadershipState {
  const since = new Date(0);
  return {
    ...follower,
    role: 'leader',
    leader: { instanceId: 'me', metadata: {}, since, fencingToken },
    leaderKnown: true,
    term: { fencingToken, number: 1, startedAt: since, signal },
    stepDownDeadline: Number.POSITIVE_INFINITY,
  };
}

/** Records what the service asks of the core; `stop()` behaves as the core's contract says. */
function fakeElection() {
  const subject = new BehaviorSubject<LeadershipState>(follower);
  const events: string[] = [];
  const election = {
    instanceId: 'me',
    options: { key: 'fake/key' },
    state$: subject.asObservable(),
    events$: NEVER,
    get state() {
      return subject.getValue();
    },
    isLeader: () => subject.getValue().role === 'leader',
    start: () => events.push('start'),
    resign: async ({ drain }: { drain?: () => Promise<unknown> } = {}) => {
      subject.next(follower);
      events.push('resigned');
      await drain?.();
      events.push('released');
    },
    stop: async ({ drain }: { drain?: () => Promise<unknown> } = {}) => {
      subject.next(follower);
      events.push('stepped down');
      await drain?.();
      events.push('released');
      subject.next({ ...follower, role: 'stopped' });
      subject.complete();
    },
  };
  return { election, subject, events };
}

const makeService = (
  fake: ReturnType<typeof fakeElection>,
  waitForElection = false,
  name: string | null = null,
) =>
  new ConsulLeaderService(
    fake.election as unknown as LeaderElection,
    { key: 'fake/key', waitForElection },
    name,
  );

describe('ConsulLeaderService', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(() => logs.restore());

  it('starts the election at bootstrap without waiting for its result', async () => {
    const fake = fakeElection();
    await makeService(fake).onApplicationBootstrap();
    expect(fake.events).toEqual(['start']);
  });

  it('with waitForElection, holds bootstrap past a first read of a free key until this instance leads', async () => {
    const fake = fakeElection();
    let bootstrapped = false;
    const bootstrap = makeService(fake, true)
      .onApplicationBootstrap()
      .then(() => (bootstrapped = true));
    await pollUntil('the election to start', () => fake.events.includes('start'), 5_000);
    fake.subject.next({ ...follower }); // the key read free: no outcome yet
    fake.subject.next({ ...follower, leader: leaderState(7).leader }); // our own acquire, not acting yet
    await new Promise((resolve) => setImmediate(resolve));
    expect(bootstrapped).toBe(false);
    fake.subject.next(leaderState(7));
    await bootstrap;
    expect(logs.lines).toContainEqual({
      level: 'log',
      message: 'First election result: leader',
      context: 'ConsulLeader',
    });
  });

  it('with waitForElection, settles as the follower of another instance that holds the key', async () => {
    const fake = fakeElection();
    const bootstrap = makeService(fake, true).onApplicationBootstrap();
    const since = new Date(0);
    fake.subject.next({
      ...follower,
      leader: { instanceId: 'other', metadata: {}, since, fencingToken: 3 },
    });
    await bootstrap;
    expect(logs.lines.map((line) => line.message)).toContain(
      'First election result: follower of other',
    );
  });

  it('with waitForElection, settles on a Consul problem and says which', async () => {
    const fake = fakeElection();
    const bootstrap = makeService(fake, true).onApplicationBootstrap();
    fake.subject.next({
      ...follower,
      consulReachable: false,
      problem: { kind: 'unreachable', message: 'connect ECONNREFUSED' },
    });
    await bootstrap;
    expect(logs.lines.map((line) => line.message)).toContain(
      'First election result: follower; Consul problem: connect ECONNREFUSED',
    );
  });

  it('with waitForElection and failFast, fails bootstrap on a Consul problem, naming it, and stops the election', async () => {
    const fake = fakeElection();
    const service = new ConsulLeaderService(
      fake.election as unknown as LeaderElection,
      { key: 'fake/key', waitForElection: true, failFast: true },
      null,
    );
    const bootstrap = service.onApplicationBootstrap();
    fake.subject.next({
      ...follower,
      consulReachable: false,
      problem: { kind: 'unreachable', message: 'connect ECONNREFUSED' },
    });
    await expect(bootstrap).rejects.toMatchObject({
      name: 'ElectionStartError',
      message: 'The election for "fake/key" did not start (failFast): connect ECONNREFUSED',
    });
    expect(fake.events).toEqual(['start', 'stepped down', 'released']);
  });

  it('at shutdown lets in-flight @LeaderOnly calls finish before the key is released', async () => {
    const fake = fakeElection();
    fake.subject.next(leaderState(3));
    const service = makeService(fake);
    let finishJob: () => void = () => undefined;
    const job = service[RUN_AS_LEADER](
      'Jobs.run',
      () => new Promise<void>((resolve) => (finishJob = resolve)),
    );
    expect(job).toBeInstanceOf(Promise);

    const shutdown = service.beforeApplicationShutdown();
    await pollUntil('the local step-down', () => fake.events.includes('stepped down'), 5_000);
    expect(service[RUN_AS_LEADER]('Jobs.run', () => 'ran')).toBeUndefined(); // no new work once stepped down
    expect(fake.events).not.toContain('released');
    finishJob();
    await shutdown;
    expect(fake.events).toEqual(['stepped down', 'released']);
  });

  it('on resign() lets in-flight @LeaderOnly calls finish before the key is released', async () => {
    const fake = fakeElection();
    fake.subject.next(leaderState(3));
    const service = makeService(fake);
    let finishJob: () => void = () => undefined;
    void service[RUN_AS_LEADER](
      'Jobs.run',
      () => new Promise<void>((resolve) => (finishJob = resolve)),
    );
    const resigned = service.resign();
    await pollUntil('the local step-down', () => fake.events.includes('resigned'), 5_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.events).toEqual(['resigned']);
    finishJob();
    await resigned;
    expect(fake.events).toEqual(['resigned', 'released']);
  });

  it('logs a skipped call at debug under its election context, once per method until the role changes', () => {
    const fake = fakeElection();
    const service = makeService(fake, false, 'billing');
    expect(service[RUN_AS_LEADER]('Jobs.run', () => 'ran')).toBeUndefined();
    expect(service[RUN_AS_LEADER]('Jobs.run', () => 'ran')).toBeUndefined();
    const skips = () => logs.lines.filter((line) => line.message.startsWith('Skipped Jobs.run'));
    expect(skips()).toEqual([
      {
        level: 'debug',
        message:
          'Skipped Jobs.run: this instance is not the leader (logged once per method until the role changes)',
        context: 'ConsulLeader:billing',
      },
    ]);
    fake.subject.next(leaderState(1));
    fake.subject.next(follower);
    service[RUN_AS_LEADER]('Jobs.run', () => 'ran');
    expect(skips()).toHaveLength(2);
  });

  it("sends the Nest layer's own lines to the logger option", async () => {
    const fake = fakeElection();
    const lines: string[] = [];
    const push = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
    const logger = {
      log: push('log'),
      warn: push('warn'),
      error: push('error'),
      debug: push('debug'),
    };
    const service = new ConsulLeaderService(
      fake.election as unknown as LeaderElection,
      { key: 'fake/key', waitForElection: true, logger },
      null,
    );
    const bootstrap = service.onApplicationBootstrap();
    fake.subject.next(leaderState(1));
    await bootstrap;
    fake.subject.next(follower);
    service[RUN_AS_LEADER]('Jobs.run', () => 'ran');
    expect(lines).toEqual([
      'log Waiting for the first election result (waitForElection: true)',
      'log First election result: leader',
      'debug Skipped Jobs.run: this instance is not the leader (logged once per method until the role changes)',
    ]);
    expect(logs.lines).toEqual([]);
  });

  it('emits isLeader$ on change only, replays it to late subscribers and completes at shutdown', async () => {
    const fake = fakeElection();
    const service = makeService(fake);
    const seen: boolean[] = [];
    let completed = false;
    service.isLeader$.subscribe({
      next: (value) => seen.push(value),
      complete: () => (completed = true),
    });
    fake.subject.next(leaderState(1));
    fake.subject.next({ ...leaderState(1), stepDownDeadline: 123 }); // a renewal: no new value
    const late: boolean[] = [];
    service.isLeader$.subscribe((value) => late.push(value));
    await service.beforeApplicationShutdown();
    expect(seen).toEqual([false, true, false]);
    expect(late).toEqual([true, false]);
    expect(completed).toBe(true);
  });

  it('emits leader$ when the holder or its term changes, not on renewals', () => {
    const fake = fakeElection();
    const service = makeService(fake);
    const seen: Array<number | null | undefined> = [];
    service.leader$.subscribe((leader) => seen.push(leader && leader.fencingToken));
    fake.subject.next(leaderState(1));
    fake.subject.next({ ...leaderState(1), stepDownDeadline: 5 });
    fake.subject.next(leaderState(2));
    // Not known before the first read (the core's first state), then each term once.
    expect(seen).toEqual([undefined, 1, 2]);
  });

  it("exposes the open term's fencing token and signal, and an aborted signal outside a term", () => {
    const fake = fakeElection();
    const service = makeService(fake);
    expect(service.fencingToken).toBeNull();
    expect(service.signal.aborted).toBe(true);
    const controller = new AbortController();
    fake.subject.next(leaderState(42, controller.signal));
    expect([service.fencingToken, service.signal]).toEqual([42, controller.signal]);
  });
});
