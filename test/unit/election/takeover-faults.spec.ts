// Regression specs for the takeover faults of issue 9, where the timing itself is the point: a
// virtual clock (early timers, a suspend, leases of different lengths) and the Consul model,
// each candidate behind its own link to it so that one can be cut off or refused alone. The same
// faults are exercised against a real agent in test/integration/election/regressions.
import { ConsulRequestError, LeaderElection } from '../../../lib/election';
import { ConsulModel } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import { cancellable, modelPort, type ModelTransport } from '../../support/model-consul-client';
import { VirtualClock } from '../../support/virtual-clock';
import { VIRTUAL_D as D, useVirtualElections } from '../../support/virtual-elections';

const SUCCESSOR_WAIT = D * 1.01;

describe('takeover under faults (virtual clock)', () => {
  const world = useVirtualElections();
  const { candidate, leading, following, until, firstOverlap } = world;

  it.each([
    ['resigns', (holder: LeaderElection) => holder.resign({ pause: '1h' })],
    ['is stopped', (holder: LeaderElection) => holder.stop()],
  ])(
    'a holder that took over a deleted key and %s before it acts does not let the next act while the cut-off leader may',
    async (_how, letGo) => {
      const x = await leading('x');
      const y = candidate('y');
      const z = candidate('z');
      y.election.start();
      z.election.start();
      await world.clock.advance(50);
      // x is cut off inside its lease; an operator deletes the key (no lock-delay for an absent key).
      x.link.cut = true;
      world.consul.deleteKey();
      const holderOf = (): LeaderElection | undefined =>
        [y.election, z.election].find((e) => e.stepDownDeadline !== null);
      await until(() => holderOf() !== undefined);
      const early = holderOf()!;
      expect(early.isLeader()).toBe(false);
      void letGo(early);
      expect(await firstOverlap([x.election, y.election, z.election], 3 * D)).toBeNull();
      // The other one leads in the end: safety did not cost liveness.
      expect([y.election, z.election].filter((e) => e.isLeader())).toHaveLength(1);
    },
  );

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
      world.consul.deleteKey();
      await until(() => leader() === undefined);
    }
    await until(() => leader() !== undefined);
    world.consul.putValue('written by an operator');
    await world.clock.advance(50);
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
      world.consul.writeOtherKey();
      await world.clock.advance(300);
      led = solo.election.isLeader();
    }
    expect(led).toBe(true);
  });

  it('adopts a hold whose acquire answer was lost instead of handing it back, with no storm of acquires', async () => {
    const all = ['a', 'b', 'c'].map((id) => candidate(id));
    for (const { election, link } of all) {
      link.loseAnswer.add('acquire');
      election.start();
    }
    const ledAt = await until(() => all.some(({ election }) => election.isLeader()), 10_000);
    expect(ledAt).toBeLessThan(4 * D);
    const writes = world.calls.filter((call) => call === 'acquire' || call === 'release');
    expect(writes.length).toBeLessThan(10);
    await world.clock.advance(5 * D);
    expect(all.filter(({ election }) => election.isLeader())).toHaveLength(1);
  });

  it('releases again at stop when an operator rewrote the value under the leader’s session, so the successor leads within milliseconds', async () => {
    const a = await leading('a');
    const b = await following('b');
    world.consul.relockValue(
      world.consul.entry!.value!.replace('"metadata":{}', '"metadata":{"edited":1}'),
    );
    await world.clock.advance(10);
    const stopped = a.election.stop();
    await world.clock.advance(5);
    await stopped;
    const handedAt = world.clock.now();
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    // A release (no lock-delay) and a marker: milliseconds, not lock-delay + D.
    expect(ledAt - handedAt).toBeLessThan(100);
  });

  it('hands over within milliseconds after an operator’s plain PUT too: the marker names the hold the follower saw, though LockIndex is 0', async () => {
    const a = await leading('a');
    const b = await following('b');
    world.consul.putValue(world.consul.entry!.value!);
    await world.clock.advance(10);
    const stopped = a.election.stop();
    await world.clock.advance(5);
    await stopped;
    const handedAt = world.clock.now();
    // Released (not destroyed with the session: no lock-delay from Consul), and at once taken.
    expect(a.link.calls.map((call) => call.method)).toContain('release');
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    // LockIndex 0 alone is what an operator's copy of a released value looks like; the marker counts
    // because it names the session and term b last saw holding the key.
    expect(ledAt - handedAt).toBeLessThan(100);
  });

  it('hands over within milliseconds to a follower that first saw the hold after an operator’s plain PUT: the leader writes its value back', async () => {
    // No health checks: nothing else (naming successors) rewrites the leader's value, and b, named
    // by no one, tries within its hash slot of 10 ms steps.
    const timings = { healthCheck: false, successionStep: 10 } as const;
    const a = candidate('a', timings);
    a.election.start();
    await until(() => a.election.isLeader());
    // The operator's value names no token; b, started after it, learns the term's token only from
    // the value the leader writes back, and the leader's release marker names that token.
    world.consul.putValue('written by an operator');
    await world.clock.advance(50);
    const b = candidate('b', timings);
    b.election.start();
    await world.clock.advance(50);
    const resignedAt = world.clock.now();
    await a.election.resign({ pause: '1h' });
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    expect(ledAt - resignedAt).toBeLessThan(100);
  });

  it('does not hold the campaign back with a release whose answers never come: after an unknown outcome it looks at the key before trying again', async () => {
    const a = await leading('a');
    const b = await following('b');
    // Slow commits for a: its confirmations and releases are carried out, their answers come too
    // late. Its lease runs out; its release frees the key, and b takes it.
    a.link.loseAnswer.add('confirmHolding');
    a.link.loseAnswer.add('release');
    await until(() => !a.election.isLeader());
    a.link.loseAnswer.delete('confirmHolding');
    await until(() => b.election.isLeader(), 5_000);
    await world.clock.advance(50);
    // Every retry of a's release is refused (the key is b's), and that answer is lost as well.
    const resignedAt = world.clock.now();
    await b.election.resign({ pause: '1h' });
    const ledAt = await until(() => a.election.isLeader(), 5_000);
    expect(ledAt - resignedAt).toBeLessThan(100);
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
    await world.clock.advance(10_000);
    const releases = a.link.calls.filter((call) => call.method === 'release').length;
    // Capped, jittered backoff (100 ms up to retry.maxDelay 2 s): a few per second at most, not
    // one per round trip.
    expect(releases).toBeGreaterThan(0);
    expect(releases).toBeLessThanOrEqual(30);
    a.link.refuse.delete('release');
    await world.clock.advance(3_000);
    await resigned;
    expect(world.consul.entry?.session).toBeNull();
  });

  it.each(['resign', 'stop'] as const)(
    'a %s() whose leader work outlives drainTimeout releases without the marker: the next waits out the lease',
    async (how) => {
      const a = candidate('a', { drainTimeout: 100 });
      a.election.start();
      await until(() => a.election.isLeader());
      const b = await following('b');
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
    const a = await leading('a');
    const b = await following('b');
    let finish = (): void => undefined;
    const work = new Promise<void>((resolve) => (finish = resolve));
    const resigned = a.election.resign({ pause: '1h', drain: () => work });
    await world.clock.advance(20);
    // Still held while the work runs: nobody else may act yet.
    expect(world.consul.entry?.session).toBeTruthy();
    expect(b.election.isLeader()).toBe(false);
    finish();
    const releasedAt = await until(() => !world.consul.entry?.session || b.election.isLeader());
    const ledAt = await until(() => b.election.isLeader());
    expect(ledAt - releasedAt).toBeLessThan(50);
    await resigned;
  });

  it('binds a marker on LockIndex 0 to the right term when the same session holds the key again after a plain PUT', async () => {
    const a = await leading('a');
    const b = await following('b');
    // b stays out of the way for a while, so that a takes the key again after its first resign.
    await b.election.resign({ pause: 3_000 });
    world.consul.putValue(world.consul.entry!.value!);
    await world.clock.advance(10);
    await a.election.resign({ pause: 0 });
    await until(() => a.election.state.term?.number === 2);
    await world.clock.advance(3_100);
    // Term 2 of the same session, plain-PUT as well: LockIndex is 0 again when a releases.
    world.consul.putValue(world.consul.entry!.value!);
    await world.clock.advance(10);
    const resignedAt = world.clock.now();
    await a.election.resign({ pause: '1h' });
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    expect(ledAt - resignedAt).toBeLessThan(100);
  });

  it('does not hold a lock-delay refusal against a later release: once someone took the key, lock-delay is over', async () => {
    // A long lock-delay: b would wait it out (5 s) before trying again.
    const b = candidate('b', { lockDelay: 5_000 });
    // b's first acquire is refused for lock-delay (on a deleted key's name, for instance).
    b.link.answer.set('acquire', { acquired: false, reason: 'lock-delay', detail: 'lock delay' });
    b.election.start();
    await until(() => b.link.calls.some((call) => call.method === 'acquire'));
    b.link.answer.delete('acquire');
    const c = await leading('c');
    await world.clock.advance(50);
    const resignedAt = world.clock.now();
    await c.election.resign({ pause: '1h' });
    const ledAt = await until(() => b.election.isLeader(), 5_000);
    // A release with the marker: milliseconds, not the rest of b's lock-delay wait.
    expect(ledAt - resignedAt).toBeLessThan(100);
  });

  it('never begins a term before its act time, although its timers fire early', async () => {
    world.clock.timersFireEarlyBy = 3;
    const a = candidate('a');
    a.election.start();
    let acquiredAt = 0;
    for (let t = 0; t < 5_000 && !acquiredAt; t += 1) {
      await world.clock.advance(1);
      if (world.consul.entry?.session) acquiredAt = world.clock.now();
    }
    for (let t = world.clock.now(); t < acquiredAt + SUCCESSOR_WAIT - 1; t = world.clock.now()) {
      expect(a.election.isLeader()).toBe(false);
      await world.clock.advance(1);
    }
    await world.clock.advance(10);
    expect(a.election.isLeader()).toBe(true);
  });

  it('stops leading at once when the machine was suspended for longer than its lease', async () => {
    const a = await leading('a');
    const signal = a.election.state.term!.signal;
    world.clock.suspend(5 * D);
    expect(a.election.isLeader()).toBe(false);
    await world.clock.advance(0);
    expect(signal.aborted).toBe(true);
    expect(a.election.state.role).toBe('follower');
  });

  it('stops leading at once after a suspend also when the wall clock was stepped back earlier in the term', async () => {
    // Simulator seed 12560: the wall clock stepped back 6 minutes, later confirmations all came
    // in, and then a 4 s suspend: the leader went on acting for 319 ms after it resumed, because
    // the wall-clock bound still counted from before the step.
    const a = await leading('a');
    const signal = a.election.state.term!.signal;
    world.clock.stepWall(-6 * 60_000);
    await world.clock.advance(3 * D);
    expect(a.election.isLeader()).toBe(true);
    world.clock.suspend(5 * D);
    expect(a.election.isLeader()).toBe(false);
    await world.clock.advance(0);
    expect(signal.aborted).toBe(true);
  });

  it('waits out the longer lease of a previous holder that runs with an older, longer leaseDuration', async () => {
    const old = candidate('old', { leaseDuration: 3 * D, lockDelay: 3 * D });
    old.election.start();
    await until(() => old.election.isLeader());
    const next = await following('next');
    old.link.cut = true;
    world.consul.deleteKey();
    expect(await firstOverlap([old.election, next.election], 5 * D)).toBeNull();
    expect(next.election.isLeader()).toBe(true);
  });

  it('destroys a session it gives up on when the agent says its check is unknown, so it cannot live on', async () => {
    const a = candidate('a');
    a.election.start();
    await until(() => world.consul.sessionIds().length === 1);
    const [first] = world.consul.sessionIds();
    a.link.answer.set('passCheck', 'not-found');
    await world.clock.advance(6_000);
    a.link.answer.delete('passCheck');
    await world.clock.advance(1_000);
    // Destroyed by the candidate itself, not by Consul for a check nobody updated.
    const destroyed = a.link.calls.filter((call) => call.method === 'destroySession');
    expect(destroyed.map((call) => call.args[0])).toContain(first);
    expect(world.consul.sessionIds()).not.toContain(first);
  });
});

// On the Consul model (test/support/consul-model.ts, checked against a real agent): a blocking read
// whose index is ahead of the store is held for its whole wait there, as in Consul.
describe('takeover across a wiped agent restart (virtual clock, Consul model)', () => {
  it('reads the key afresh once Consul no longer knows its session: an answer from before the wipe had left its watch ahead of the new store', async () => {
    const clock = new VirtualClock();
    const model = new ConsulModel(clock);
    const key = 'spec/leader';
    const elect = (instanceId: string, transport?: ModelTransport): LeaderElection =>
      new LeaderElection({
        key,
        instanceId,
        clock,
        consulPort: modelPort(model, transport),
        logger: memoryLogger(instanceId),
        leaseDuration: D,
        lockDelay: 1_500,
        requestTimeout: 200,
        sessionTtl: '2s',
        sessionTtlMin: '1s',
        healthCheck: false,
        successionStep: 10,
        retry: { initialDelay: 100, maxDelay: 2_000 },
      });
    const until = async (probe: () => boolean, limitMs: number): Promise<number> => {
      for (let waited = 0; !probe(); waited += 5) {
        if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
        await clock.advance(5);
      }
      return clock.now();
    };
    // b's answers can be held on their way back, like a reply still in the network.
    const held: Array<() => void> = [];
    let holdAnswers = false;
    const lateLink: ModelTransport = {
      send(request) {
        return cancellable(request, async () => {
          const answer = await request.handle();
          if (holdAnswers) await new Promise<void>((resolve) => held.push(resolve));
          return answer;
        });
      },
    };
    // Indexes well above what the restarted agent will reach soon (a real cluster: thousands).
    for (let i = 0; i < 300; i += 1) model.kvPut('spec/other', String(i));
    const a = elect('a');
    const b = elect('b', lateLink);
    try {
      a.start();
      await until(() => a.isLeader(), 5_000);
      b.start();
      await clock.advance(100);
      // The key changes (an operator's plain PUT): b's blocking read is answered by the old store,
      // and the answer is still on its way when the dev agent restarts empty.
      holdAnswers = true;
      model.kvPut(key, 'operator');
      await clock.advance(10);
      model.restart(true);
      holdAnswers = false;
      for (const deliver of held.splice(0)) deliver();
      // a steps down, takes the key in the new store and leads; b learns that its session is gone.
      await until(() => !a.isLeader(), 5_000);
      await until(() => a.isLeader(), 10_000);
      await clock.advance(3_000);
      const resignedAt = clock.now();
      await a.resign({ pause: '1h' });
      const ledAt = await until(() => b.isLeader(), 10_000);
      // A release with the marker: within milliseconds, not when b's blind read ends (60 s).
      expect(ledAt - resignedAt).toBeLessThan(500);
    } finally {
      await Promise.race([Promise.all([a.stop(), b.stop()]), clock.advance(10_000)]);
      model.dispose();
    }
  });
});
