// The election's timing rules, stated exactly: a virtual clock and the Consul model (checked
// against a real agent by test/integration/conformance) drive the state machine, each candidate
// through its own link (the same rules are exercised against a real agent in test/integration).
import { LeaderElection, LeadershipLostError, type ElectionOptions } from '../../../lib/election';
import {
  VIRTUAL_D as D,
  VIRTUAL_LOCK_DELAY as LOCK_DELAY,
  useVirtualElections,
  type Link,
} from '../../support/virtual-elections';

/** What a successor waits out: D plus the 1% margin for clock-rate differences between machines. */
const SUCCESSOR_WAIT = D * 1.01;

/** The port's calls that write or ask Consul for something other than a read of the key or the catalog. */
const UPDATES = [
  'createSession',
  'renewSession',
  'destroySession',
  'acquire',
  'release',
  'rewriteHeld',
  'confirmHolding',
  'registerService',
  'registerTtlCheck',
  'passCheck',
  'deregisterService',
];

/** Every update through `link` takes `ms` of virtual time to reach Consul. */
function slowUpdates(link: Link, ms: number): void {
  for (const method of UPDATES) link.delay.set(method, ms);
}

describe('the election state machine (virtual clock)', () => {
  const world = useVirtualElections();
  const links = new Map<LeaderElection, Link>();

  function candidate(instanceId: string, overrides: Partial<ElectionOptions> = {}): LeaderElection {
    const { election, link } = world.candidate(instanceId, overrides);
    links.set(election, link);
    return election;
  }
  /** The link of an election made by {@link candidate}: each has its own. */
  const linkOf = (election: LeaderElection): Link => links.get(election)!;

  /** Starts `election` on a free key and lets virtual time run until it leads (its rank slot, then D). */
  async function leaderAt(election: LeaderElection): Promise<void> {
    election.start();
    for (let waited = 0; !election.isLeader() && waited < 5_000; waited += 10) {
      await world.clock.advance(10);
    }
    expect(election.isLeader()).toBe(true);
  }

  /** Advances virtual time in 1 ms steps until `probe` holds; returns the time it first held. */
  async function timeWhen(probe: () => boolean, limitMs = 5_000): Promise<number> {
    for (let waited = 0; !probe(); waited += 1) {
      if (waited > limitMs) throw new Error('condition never held');
      await world.clock.advance(1);
    }
    return world.clock.now();
  }

  it('acts on a key it found absent only D after its acquire was answered: an old holder may have been cut off, and a deletion leaves no trace', async () => {
    const a = candidate('a');
    a.start();
    const acquiredAt = await timeWhen(() => !!world.consul.entry?.session);
    await world.clock.advance(SUCCESSOR_WAIT - 1 - (world.clock.now() - acquiredAt));
    expect(a.isLeader()).toBe(false);
    await world.clock.advance(1);
    expect(a.isLeader()).toBe(true);
    expect(a.state.term).toMatchObject({
      fencingToken: world.consul.entry!.modifyIndex,
      number: 1,
    });
  });

  it('steps down exactly at the send time of its last confirmed renewal plus D when Consul stops answering', async () => {
    const a = candidate('a');
    await leaderAt(a);
    const signal = a.state.term!.signal;
    linkOf(a).cut = true;
    const deadline = a.stepDownDeadline!;
    await world.clock.advance(deadline - world.clock.now() - 1);
    expect(a.isLeader()).toBe(true);
    await world.clock.advance(1);
    expect(a.isLeader()).toBe(false);
    expect(a.state.role).toBe('follower');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toEqual(new LeadershipLostError('deadline'));
  });

  it('counts the lease from when a confirmation was sent, however late its answer came', async () => {
    const a = candidate('a');
    await leaderAt(a);
    slowUpdates(linkOf(a), 150);
    const before = world.clock.now();
    await world.clock.advance(400 + 150);
    // The confirmation went out at the renew tick (before + ~400) and was answered 150 ms later.
    const sent = a.stepDownDeadline! - D;
    expect(sent).toBeLessThanOrEqual(before + 400);
    expect(a.stepDownDeadline).toBeLessThan(world.clock.now() + D);
  });

  it('takes over an invalidated key no sooner than lock-delay after, and acts at once then (lock-delay ≥ D)', async () => {
    const a = candidate('a');
    await leaderAt(a);
    const b = candidate('b');
    b.start();
    await world.clock.advance(10);
    const sessionOfA = world.consul.entry!.session!;
    const tokenOfA = a.state.term!.fencingToken;
    const invalidatedAt = world.clock.now();
    const acquiresBefore = world.calls.filter((call) => call === 'acquire').length;
    world.consul.invalidate(sessionOfA);

    await world.clock.advance(LOCK_DELAY - 1);
    expect([a, b].filter((election) => election.isLeader())).toEqual([]);
    // Nobody tries while Consul's lock-delay would refuse it.
    expect(world.calls.filter((call) => call === 'acquire').length).toBe(acquiresBefore);
    await world.clock.advance(100);
    // a lost its session with the key; whichever of the two takes the key over acts at once.
    const leaders = [a, b].filter((election) => election.isLeader());
    expect(leaders).toHaveLength(1);
    expect(leaders[0].state.term!.fencingToken).toBeGreaterThan(tokenOfA);
    expect(world.clock.now() - invalidatedAt).toBeGreaterThanOrEqual(D);
  });

  it('takes over a key the leader released after stepping down at once, without waiting out the lease', async () => {
    const a = candidate('a');
    await leaderAt(a);
    const b = candidate('b');
    b.start();
    await world.clock.advance(10);
    const resigned = a.resign();
    await world.clock.advance(0);
    await resigned;
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
    expect(b.state.term!.fencingToken).toBeGreaterThan(1);
  });

  it('does not let a stale observation shorten the wait: the acquire is conditioned on the key being unchanged', async () => {
    const a = candidate('a');
    slowUpdates(linkOf(a), 50);
    a.start();
    // At 0 a sees the key absent; by 220 its session is open and it waits for its succession slot.
    await world.clock.advance(220);
    // Meanwhile another client takes the key and loses it: the key is free again, but a new vacancy.
    world.consul.invalidate(world.consul.seize());
    const vacatedAt = world.clock.now();
    await world.clock.advance(vacatedAt + SUCCESSOR_WAIT - 1 - world.clock.now());
    expect(a.isLeader()).toBe(false);
    await world.clock.advance(LOCK_DELAY + 200);
    expect(a.isLeader()).toBe(true);
  });

  it('waits retry.maxDelay between tries while Consul answers 403, and says why in its state', async () => {
    // The anonymous token (the candidates send none) loses every capability the election uses.
    world.model.deny('', ['key:read', 'key:write', 'session:write', 'service:write']);
    const a = candidate('a');
    a.start();
    await world.clock.advance(10_000);
    expect(a.state.problem).toMatchObject({ kind: 'forbidden', status: 403 });
    expect(a.state.problem!.message).toContain('spec/leader');
    expect(a.state.consulReachable).toBe(true);
    expect(world.calls.filter((call) => call === 'registerService').length).toBeLessThanOrEqual(6);
  });

  it('never frees (and marks released) a newer hold when it retries a release whose answer was lost', async () => {
    const a = candidate('a', { resignPause: 0 });
    await leaderAt(a);
    const firstSession = world.consul.entry!.session;
    linkOf(a).hang.add('confirmHolding');
    linkOf(a).loseAnswer.add('release');
    await world.clock.advance(D + 10);
    expect(a.isLeader()).toBe(false);
    expect(world.consul.entry?.session).toBeNull(); // the release went through; its answer did not
    linkOf(a).hang.delete('confirmHolding');
    linkOf(a).loseAnswer.delete('release');

    await world.clock.advance(5_000);
    // a led again after its own marked release; its retry found the key changed and left it alone.
    expect(a.isLeader()).toBe(true);
    expect(a.state.term!.number).toBe(2);
    expect(world.consul.entry).toMatchObject({ session: firstSession, lockIndex: 2 });
    expect(JSON.parse(world.consul.entry!.value!).releasedAt).toBeUndefined();
  });

  it('takes over after lock-delay even when its blocking queries time out sooner (watchWait < lockDelay)', async () => {
    const a = candidate('a', { watchWait: '1s' });
    await leaderAt(a);
    const b = candidate('b', { watchWait: '1s' });
    b.start();
    await world.clock.advance(10);
    world.consul.invalidate(world.consul.entry!.session!);
    await world.clock.advance(LOCK_DELAY + 200);
    expect([a, b].filter((election) => election.isLeader())).toHaveLength(1);
  });

  it('hands back a key whose acquire was in flight when resign() was called, without acting', async () => {
    const a = candidate('a');
    slowUpdates(linkOf(a), 50);
    a.start();
    // Step until the first acquire has been sent; it is then in flight for 50 ms.
    while (!world.calls.includes('acquire')) await world.clock.advance(5);
    expect(world.consul.entry?.session).toBeFalsy();
    await a.resign({ pause: '10s' });
    await world.clock.advance(3 * D);
    expect(a.isLeader()).toBe(false);
    expect(a.state.term).toBeNull();
    expect(world.consul.entry?.session).toBeNull();
  });

  it('lets only the first successor the leader named try, on a release and on an invalidation alike', async () => {
    const a = candidate('a');
    await leaderAt(a);
    const followers = ['b', 'c', 'd', 'e'].map((id) => candidate(id));
    for (const follower of followers) {
      follower.start();
      await world.clock.advance(5);
    }
    // The candidates watch reads at most every 250 ms (SAFETY.md, "Load"): the list follows by then.
    await world.clock.advance(300);
    expect(JSON.parse(world.consul.entry!.value!).successors).toEqual(['b', 'c', 'd', 'e']);

    const acquires = (): number => world.calls.filter((call) => call === 'acquire').length;
    let before = acquires();
    await a.resign({ pause: '1h' });
    await world.clock.advance(10);
    expect(followers.map((f) => f.isLeader())).toEqual([true, false, false, false]);
    // b's acquire alone: nobody else tried.
    expect(acquires() - before).toBe(1);
    // b inherited a's order without itself, and named a, which left alive, last.
    expect(JSON.parse(world.consul.entry!.value!).successors).toEqual(['c', 'd', 'e', 'a']);

    before = acquires();
    world.consul.invalidate(world.consul.entry!.session!);
    await world.clock.advance(LOCK_DELAY + 100);
    expect(followers.map((f) => f.isLeader())).toEqual([false, true, false, false]);
    expect(acquires() - before).toBe(1);
  });

  it('hands over to the follower, not back to itself, when it resigns before it named any successor', async () => {
    const a = candidate('a', { resignPause: 0 });
    const b = candidate('b', { resignPause: 0 });
    a.start();
    b.start();
    await world.clock.advance(3 * D);
    for (let handoff = 0; handoff < 6; handoff += 1) {
      const [leader, other] = a.isLeader() ? [a, b] : [b, a];
      // Resign right after the term began: the leader's own list may not be in the key yet.
      await leader.resign({ pause: 0 });
      await world.clock.advance(50);
      expect(other.isLeader()).toBe(true);
      expect(leader.isLeader()).toBe(false);
    }
  });

  it('does not rewrite the key after a handoff: the new leader inherits the order it would compute', async () => {
    const ids = Array.from({ length: 11 }, (_, i) => `c${i}`);
    const all = ids.map((id) => candidate(id));
    await leaderAt(all[0]);
    for (const follower of all.slice(1)) {
      follower.start();
      await world.clock.advance(5);
    }
    // The candidates watch reads at most every 250 ms (SAFETY.md, "Load"): the list follows by then.
    await world.clock.advance(300);
    const rewrites = (): number => world.calls.filter((call) => call === 'rewriteHeld').length;
    const before = rewrites();
    await all[0].resign({ pause: '1h' });
    await world.clock.advance(500);
    expect(all.filter((election) => election.isLeader()).map((e) => e.instanceId)).toEqual(['c1']);
    expect(rewrites() - before).toBe(0);
    expect(JSON.parse(world.consul.entry!.value!).successors).toEqual([
      'c2',
      'c3',
      'c4',
      'c5',
      'c6',
      'c7',
      'c8',
      'c0',
    ]);
  });
});
