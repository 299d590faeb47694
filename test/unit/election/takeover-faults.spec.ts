// Regression specs for the takeover faults of issue 9, where the timing itself is the point: a
// virtual clock (early timers, a suspend, leases of different lengths) and the in-memory Consul,
// each candidate behind its own view of it so that one can be cut off or refused alone. The same
// faults are exercised against a real agent in test/integration/election/regressions.
import {
  ConsulRequestError,
  LeaderElection,
  type ConsulPort,
  type ElectionOptions,
} from '../../../lib/election';
import { InMemoryConsul } from '../../support/in-memory-consul';
import { VirtualClock } from '../../support/virtual-clock';
import { memoryLogger } from '../../support/election-kit';

const D = 1_000;
const SUCCESSOR_WAIT = D * 1.01;

/** One candidate's link to the shared in-memory Consul: it can be cut, or have calls refused. */
interface Link {
  readonly port: ConsulPort;
  /** Every request hangs unanswered, like a black-holed network. */
  cut: boolean;
  /** Calls (by port method name) answered with this error after 1 ms instead of reaching Consul. */
  readonly refuse: Map<string, () => Error>;
  /** Calls (by port method name) answered with this value instead of reaching Consul. */
  readonly answer: Map<string, unknown>;
  readonly calls: Array<{ method: string; at: number; args: unknown[] }>;
}

describe('takeover under faults (virtual clock)', () => {
  let clock: VirtualClock;
  let consul: InMemoryConsul;
  const elections: LeaderElection[] = [];

  beforeEach(() => {
    clock = new VirtualClock();
    consul = new InMemoryConsul(clock);
  });
  afterEach(async () => {
    await Promise.all(
      elections.splice(0).map((election) => Promise.race([election.stop(), clock.advance(10_000)])),
    );
  });

  function link(): Link {
    const state: Link = {
      port: undefined as unknown as ConsulPort,
      cut: false,
      refuse: new Map(),
      answer: new Map(),
      calls: [],
    };
    const port = new Proxy(consul, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const method = String(property);
        return (...args: unknown[]) => {
          state.calls.push({ method, at: clock.now(), args });
          if (method === 'close') return undefined;
          if (state.cut) return new Promise(() => undefined);
          const refusal = state.refuse.get(method);
          if (refusal) {
            return new Promise((_resolve, reject) => clock.setTimer(() => reject(refusal()), 1));
          }
          if (state.answer.has(method)) return Promise.resolve(state.answer.get(method));
          // An answer that comes back after the link was cut is lost too.
          const lostIfCut = <T>(settle: () => T): T | Promise<never> =>
            state.cut ? new Promise<never>(() => undefined) : settle();
          return Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)).then(
            (answer) => lostIfCut(() => answer),
            (error: unknown) => lostIfCut(() => Promise.reject(error)),
          );
        };
      },
    });
    (state as { port: ConsulPort }).port = port;
    return state;
  }

  function candidate(
    instanceId: string,
    overrides: Partial<ElectionOptions> = {},
    via: Link = link(),
  ): { election: LeaderElection; link: Link } {
    const election = new LeaderElection({
      key: 'spec/leader',
      instanceId,
      clock,
      consulPort: via.port,
      logger: memoryLogger(instanceId),
      leaseDuration: D,
      lockDelay: 1_500,
      renewInterval: 400,
      requestTimeout: 200,
      healthCheck: { ttl: '2s', standbyTtl: '10s' },
      successionStep: 250,
      retry: { initialDelay: 100, maxDelay: 2_000 },
      ...overrides,
    });
    elections.push(election);
    return { election, link: via };
  }

  async function until(probe: () => boolean, limitMs = 10_000): Promise<number> {
    for (let waited = 0; !probe(); waited += 5) {
      if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await clock.advance(5);
    }
    return clock.now();
  }

  /**
   * Advances time in 1 ms steps for `ms`, sampling every election's isLeader(); returns the first
   * moment two were true together, or null.
   */
  async function firstOverlap(all: LeaderElection[], ms: number): Promise<string | null> {
    for (let t = 0; t < ms; t += 1) {
      const leaders = all.filter((election) => election.isLeader()).map((e) => e.instanceId);
      if (leaders.length > 1) return `${leaders.join(' and ')} at ${clock.now()} ms`;
      await clock.advance(1);
    }
    return null;
  }

  it('a holder that took over a deleted key and resigns before it acts does not let the next act while the cut-off leader may', async () => {
    const x = candidate('x');
    x.election.start();
    await until(() => x.election.isLeader());
    const y = candidate('y');
    const z = candidate('z');
    y.election.start();
    z.election.start();
    await clock.advance(50);
    // x is cut off inside its lease; an operator deletes the key (no lock-delay for an absent key).
    x.link.cut = true;
    consul.deleteKey();
    const holderOf = (): LeaderElection | undefined =>
      [y.election, z.election].find((e) => e.stepDownDeadline !== null);
    await until(() => holderOf() !== undefined);
    const early = holderOf()!;
    expect(early.isLeader()).toBe(false);
    void early.resign({ pause: '1h' });
    expect(await firstOverlap([x.election, y.election, z.election], 3 * D)).toBeNull();
    // The other one leads in the end: safety did not cost liveness.
    expect([y.election, z.election].filter((e) => e.isLeader())).toHaveLength(1);
  });

  it('a holder stopped before it acts does not let the next act while the cut-off leader may', async () => {
    const x = candidate('x');
    x.election.start();
    await until(() => x.election.isLeader());
    const y = candidate('y');
    const z = candidate('z');
    y.election.start();
    z.election.start();
    await clock.advance(50);
    x.link.cut = true;
    consul.deleteKey();
    const holderOf = (): LeaderElection | undefined =>
      [y.election, z.election].find((e) => e.stepDownDeadline !== null);
    await until(() => holderOf() !== undefined);
    void holderOf()!.stop();
    expect(await firstOverlap([x.election, y.election, z.election], 3 * D)).toBeNull();
  });

  it('gives successive leaders strictly growing fencing tokens across key deletion and an operator’s plain PUT', async () => {
    const tokens: number[] = [];
    const all = ['a', 'b', 'c'].map((id) => candidate(id, { resignPause: 0 }).election);
    for (const election of all) {
      election.state$.subscribe((state) => {
        const token = state.term?.fencingToken;
        if (token !== undefined && tokens.at(-1) !== token) tokens.push(token);
      });
      election.start();
    }
    const leader = (): LeaderElection | undefined => all.find((e) => e.isLeader());
    for (let round = 0; round < 3; round += 1) {
      await until(() => leader() !== undefined);
      consul.deleteKey();
      await until(() => leader() === undefined);
    }
    await until(() => leader() !== undefined);
    consul.putValue('written by an operator');
    await clock.advance(50);
    await leader()!.resign({ pause: 0 });
    await until(() => leader() !== undefined);
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < tokens.length; i += 1) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    // Followers name the leader with the token it acts with.
    const follower = all.find((e) => !e.isLeader())!;
    expect(follower.state.leader?.fencingToken).toBe(leader()!.state.term!.fencingToken);
  });

  it('leads on an absent key although other keys are written faster than its succession slot', async () => {
    // 'solo-31' hashes to slot 7 of 8: it tries 7 × 250 ms after it first saw the key absent.
    const solo = candidate('solo-31');
    solo.election.start();
    let led = false;
    for (let t = 0; t < 8_000 && !led; t += 300) {
      consul.writeOtherKey();
      await clock.advance(300);
      led = solo.election.isLeader();
    }
    expect(led).toBe(true);
  });

  it('adopts a hold whose acquire answer was lost instead of handing it back, with no storm of acquires', async () => {
    consul.loseAnswersOf.add('acquire');
    const all = ['a', 'b', 'c'].map((id) => candidate(id));
    for (const { election } of all) election.start();
    const ledAt = await until(() => all.some(({ election }) => election.isLeader()), 10_000);
    expect(ledAt).toBeLessThan(4 * D);
    const writes = consul.calls.filter((call) => call === 'acquire' || call === 'release');
    expect(writes.length).toBeLessThan(10);
    await clock.advance(5 * D);
    expect(all.filter(({ election }) => election.isLeader())).toHaveLength(1);
  });

  it('releases again at stop when an operator rewrote the value under the leader’s session, so the successor leads within milliseconds', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => a.election.isLeader());
    const b = candidate('b');
    b.election.start();
    await clock.advance(50);
    consul.relockValue(consul.entry!.value!.replace('"metadata":{}', '"metadata":{"edited":1}'));
    await clock.advance(10);
    const stopped = a.election.stop();
    await clock.advance(5);
    await stopped;
    const handedAt = clock.now();
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    // A release (no lock-delay) and a marker: milliseconds, not lock-delay + D.
    expect(ledAt - handedAt).toBeLessThan(100);
  });

  it('releases at stop after an operator’s plain PUT too, though its marker then counts for nothing (LockIndex 0)', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => a.election.isLeader());
    const b = candidate('b');
    b.election.start();
    await clock.advance(50);
    consul.putValue(consul.entry!.value!);
    await clock.advance(10);
    const stopped = a.election.stop();
    await clock.advance(5);
    await stopped;
    const handedAt = clock.now();
    // Released, not destroyed with the session: no lock-delay from Consul.
    expect(consul.entry).toMatchObject({ session: null, lockIndex: 0 });
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    // A plain PUT's LockIndex 0 is what an operator's copy of a released value looks like: the
    // successor takes it as unmarked and waits out lock-delay (≥ D), as after an invalidation.
    expect(ledAt - handedAt).toBeGreaterThanOrEqual(D);
    expect(ledAt - handedAt).toBeLessThan(1_500 + 200);
  });

  it.each([
    [
      '403 (token revoked)',
      () => new ConsulRequestError('forbidden', 'key release', 'HTTP 403', 403),
    ],
    [
      '429 (rate limited)',
      () => new ConsulRequestError('rate-limited', 'key release', 'HTTP 429', 429),
    ],
  ])('retries a release answered %s with backoff, never in a loop', async (_name, error) => {
    const a = candidate('a', { resignPause: '1h' });
    a.election.start();
    await until(() => a.election.isLeader());
    a.link.refuse.set('release', error);
    const resigned = a.election.resign();
    await clock.advance(10_000);
    const releases = a.link.calls.filter((call) => call.method === 'release').length;
    // Capped, jittered backoff (100 ms up to retry.maxDelay 2 s): a few per second at most, not
    // one per round trip.
    expect(releases).toBeGreaterThan(0);
    expect(releases).toBeLessThanOrEqual(30);
    a.link.refuse.delete('release');
    await clock.advance(3_000);
    await resigned;
    expect(consul.entry?.session).toBeNull();
  });

  it.each(['resign', 'stop'] as const)(
    'a %s() whose leader work outlives drainTimeout releases without the marker: the next waits out the lease',
    async (how) => {
      const a = candidate('a', { drainTimeout: 100 });
      a.election.start();
      await until(() => a.election.isLeader());
      const b = candidate('b');
      b.election.start();
      await clock.advance(50);
      const neverEnds = (): Promise<void> => new Promise(() => undefined);
      const leaving =
        how === 'resign'
          ? a.election.resign({ pause: '1h', drain: neverEnds })
          : a.election.stop({ drain: neverEnds });
      const releases = (): Array<{ at: number; args: unknown[] }> =>
        a.link.calls.filter((call) => call.method === 'release');
      await until(() => releases().length > 0);
      const [release] = releases();
      const releasedAt = release.at;
      const value = JSON.parse((release.args[0] as { value: string }).value) as Record<
        string,
        unknown
      >;
      expect(value.releasedAt).toBeUndefined();
      expect(value).toMatchObject({ handedBackAt: expect.any(String), leaseMs: D });
      const ledAt = await until(() => b.election.isLeader());
      expect(ledAt - releasedAt).toBeGreaterThanOrEqual(D);
      await leaving;
    },
  );

  it('a resign() whose leader work drains in time releases with the marker: the next leads at once', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => a.election.isLeader());
    const b = candidate('b');
    b.election.start();
    await clock.advance(50);
    let finish = (): void => undefined;
    const work = new Promise<void>((resolve) => (finish = resolve));
    const resigned = a.election.resign({ pause: '1h', drain: () => work });
    await clock.advance(20);
    // Still held while the work runs: nobody else may act yet.
    expect(consul.entry?.session).toBeTruthy();
    expect(b.election.isLeader()).toBe(false);
    finish();
    const releasedAt = await until(() => !consul.entry?.session || b.election.isLeader());
    const ledAt = await until(() => b.election.isLeader());
    expect(ledAt - releasedAt).toBeLessThan(50);
    await resigned;
  });

  it('never begins a term before its act time, although its timers fire early', async () => {
    clock.timersFireEarlyBy = 3;
    const a = candidate('a');
    a.election.start();
    let acquiredAt = 0;
    for (let t = 0; t < 5_000 && !acquiredAt; t += 1) {
      await clock.advance(1);
      if (consul.entry?.session) acquiredAt = clock.now();
    }
    for (let t = clock.now(); t < acquiredAt + SUCCESSOR_WAIT - 1; t = clock.now()) {
      expect(a.election.isLeader()).toBe(false);
      await clock.advance(1);
    }
    await clock.advance(10);
    expect(a.election.isLeader()).toBe(true);
  });

  it('stops leading at once when the machine was suspended for longer than its lease', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => a.election.isLeader());
    const signal = a.election.state.term!.signal;
    clock.suspend(5 * D);
    expect(a.election.isLeader()).toBe(false);
    await clock.advance(0);
    expect(signal.aborted).toBe(true);
    expect(a.election.state.role).toBe('follower');
  });

  it('waits out the longer lease of a previous holder that runs with an older, longer leaseDuration', async () => {
    const old = candidate('old', { leaseDuration: 3 * D, lockDelay: 3 * D });
    old.election.start();
    await until(() => old.election.isLeader());
    const next = candidate('next');
    next.election.start();
    await clock.advance(50);
    old.link.cut = true;
    consul.deleteKey();
    expect(await firstOverlap([old.election, next.election], 5 * D)).toBeNull();
    expect(next.election.isLeader()).toBe(true);
  });

  it('destroys a session it gives up on when the agent says its check is unknown, so it cannot live on', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => consul.sessions.size === 1);
    const [first] = consul.sessions.keys();
    a.link.answer.set('passCheck', 'not-found');
    await clock.advance(6_000);
    a.link.answer.delete('passCheck');
    await clock.advance(1_000);
    expect(consul.sessions.has(first)).toBe(false);
  });
});
