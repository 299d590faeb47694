// What the election publishes about who leads (issue 18, defect 5; issue 21, item 4). One rule: the
// published leader is what the last successful read of the key showed, dropped to "not known" when
// this instance can no longer vouch for it — its own term ended, or Consul has not answered for
// longer than the lease D. Before the first read it is "not known" too, never "nobody leads".
// Virtual clock and the Consul model; a cut-off link times requests out as a real client does.
import type { ElectionOptions, LeadershipState } from '../../../lib/election';
import { FaultyLink, refusedWith, type Fate } from '../../support/faulty-link';
import { VIRTUAL_D as D, modelLink, useVirtualElections } from '../../support/virtual-elections';

/** Who a state names as leader: its instance id, `nobody`, or `not known`. */
const named = (state: LeadershipState): string =>
  state.leaderKnown === false ? 'not known' : (state.leader?.instanceId ?? 'nobody');

describe('the published leader (virtual clock)', () => {
  const world = useVirtualElections();
  const { candidate, leading, following, until } = world;

  /** A candidate behind a link that can be cut off: its requests then time out. */
  const cuttable = (instanceId: string, options: Partial<ElectionOptions> = {}) => {
    const link = new FaultyLink(world.clock);
    return { ...candidate(instanceId, options, modelLink(world.model, world.clock, link)), link };
  };

  /**
   * `b` follows `a` with a session TTL, whose renewals (every 500 ms) reach the servers — a check
   * alone is the local agent's — and its first read names `a`; from its first long poll on, its
   * reads of the key meet `fate` for as long as `failing()` says so.
   */
  async function followerWhoseReadsFail(fate: Fate) {
    await leading('a');
    const b = cuttable('b', { sessionTtl: '1s', sessionTtlMin: '1s' });
    let failedAt: number | null = null;
    let failing = true;
    b.link.fate = (request) => {
      if (request.name !== 'kv.get' || !failing) return null;
      if (failedAt === null && !request.blocking) return null;
      failedAt ??= world.clock.now();
      return fate;
    };
    b.election.start();
    await until(() => failedAt !== null);
    expect(named(b.election.state)).toBe('a');
    return { b, failedAt: failedAt!, readsAnswered: () => (failing = false) };
  }

  it('says the leader is not known yet before the first read of the key, not that nobody leads', () => {
    const { election } = candidate('a');
    const seen: string[] = [];
    election.state$.subscribe((state) => seen.push(named(state)));
    expect(election.state.leaderKnown).toBe(false);
    expect(election.state.leader).toBeNull();
    expect(seen).toEqual(['not known']);
  });

  it('says nobody leads once its first read found the key free', async () => {
    const a = await following('b', { resignPause: '1h' });
    // b's first read showed the key free; it may then campaign and lead: either is a known answer.
    expect(a.election.state.leaderKnown).toBe(true);
    expect(['nobody', 'b']).toContain(named(a.election.state));
  });

  it('names the holder once its first read found the key held', async () => {
    await leading('a');
    const b = await following('b');
    expect(named(b.election.state)).toBe('a');
  });

  it('a leader that steps down for its deadline while cut off stops naming itself', async () => {
    const a = cuttable('a');
    a.election.start();
    await until(() => a.election.isLeader());
    a.link.cut = true;
    await until(() => a.election.state.role === 'follower', 3 * D);
    expect(named(a.election.state)).toBe('not known');
  });

  it('a follower whose requests fail keeps naming the leader through a blip shorter than the lease', async () => {
    await leading('a');
    const b = cuttable('b');
    b.election.start();
    await until(() => named(b.election.state) === 'a');
    b.link.cut = true;
    const since = await until(() => !b.election.state.consulReachable, 60_000);
    await world.clock.advance(D - 50 - (world.clock.now() - since));
    expect(named(b.election.state)).toBe('a');
  });

  it('a follower that cannot reach Consul for longer than the lease names no leader: not known', async () => {
    await leading('a');
    const b = cuttable('b');
    b.election.start();
    await until(() => named(b.election.state) === 'a');
    b.link.cut = true;
    await until(() => !b.election.state.consulReachable, 60_000);
    const unreachableSince = b.election.state.unreachableSince!;
    const droppedAt = await until(() => named(b.election.state) === 'not known', 3 * D);
    expect(droppedAt - unreachableSince).toBeGreaterThanOrEqual(D);
    expect(droppedAt - unreachableSince).toBeLessThanOrEqual(D + 10);
    expect(b.election.state.leader).toBeNull();
  });

  it('a follower that reaches Consul again names the leader from its next read', async () => {
    await leading('a');
    const b = cuttable('b');
    b.election.start();
    await until(() => named(b.election.state) === 'a');
    b.link.cut = true;
    await until(() => named(b.election.state) === 'not known', 60_000);
    b.link.cut = false;
    // At once, not when the blocking read in flight times out (watchWait: 60 s here).
    await until(() => named(b.election.state) !== 'not known', 5_000);
    expect(named(b.election.state)).toBe('a');
  });

  it('a follower whose local agent missed a check update while the servers answer names the leader again within one read', async () => {
    await leading('a');
    const b = cuttable('b');
    b.election.start();
    await until(() => named(b.election.state) === 'a');
    b.link.fate = (request) => (request.name === 'agent.check.pass' ? 'request-lost' : null);
    await until(() => b.link.faulted > 0, 30_000);
    b.link.fate = null;
    const seen: Array<{ at: number; named: string }> = [];
    b.election.state$.subscribe((state) =>
      seen.push({ at: world.clock.now(), named: named(state) }),
    );
    await world.clock.advance(2 * D);
    // Dropped once the lease passed with no answer from the servers, then read back at once.
    const dropped = seen.find((entry) => entry.named === 'not known');
    const back = seen.find((entry) => dropped && entry.at >= dropped.at && entry.named === 'a');
    expect(back!.at - dropped!.at).toBeLessThan(50);
    expect(named(b.election.state)).toBe('a');
  });

  it('an instance that resigned does not name itself while it releases the key', async () => {
    const a = await leading('a');
    const seen: string[] = [];
    a.election.state$.subscribe((state) => seen.push(named(state)));
    await a.election.resign({ pause: '1h' });
    expect(seen.slice(seen.indexOf('a') + 1)).not.toContain('a');
    expect(['not known', 'nobody']).toContain(named(a.election.state));
  });

  it('a stopped instance names no leader: it no longer reads the key', async () => {
    await leading('a');
    const b = await following('b');
    await b.election.stop();
    expect(named(b.election.state)).toBe('not known');
  });

  it('a stopping instance names no leader while its stop waits on a Consul that does not answer', async () => {
    await leading('a');
    const b = cuttable('b');
    b.election.start();
    await until(() => named(b.election.state) === 'a');
    b.link.cut = true;
    let stopped = false;
    void b.election.stop().then(() => (stopped = true));
    await world.clock.advance(50);
    expect(stopped).toBe(false);
    expect(named(b.election.state)).toBe('not known');
  });

  // Simulator seed 12579: a follower whose token lost its key rights kept naming the leader it had
  // last read for good — the session renewals Consul answered ended the count its failed reads had
  // started. What names the leader is the key: only a read of it ends a count a failed read began.
  it.each([
    ['refused (403: the token lost its key rights)', refusedWith(403)],
    ['answered 500', refusedWith(500)],
  ])(
    'a follower whose reads of the key are %s while Consul answers its session renewals names no leader once the lease has passed',
    async (_how, fate) => {
      const { b, failedAt } = await followerWhoseReadsFail(fate);
      const renewed = b.link.count('session.renew');
      const droppedAt = await until(() => named(b.election.state) === 'not known', 10 * D);
      expect(droppedAt - failedAt).toBeLessThanOrEqual(D + 2 * 200 + 50);
      // The servers answered all along: it is the key this instance cannot read, not Consul.
      expect(b.link.count('session.renew')).toBeGreaterThan(renewed);
      await world.clock.advance(5 * D);
      expect(named(b.election.state)).toBe('not known');
    },
  );

  it('a follower refused its reads of the key names the leader again once its token may read it', async () => {
    const { b, readsAnswered } = await followerWhoseReadsFail(refusedWith(403));
    await until(() => named(b.election.state) === 'not known', 10 * D);
    readsAnswered();
    // A refusal is retried after retry.maxDelay (2 s here): the next read names the leader.
    await until(() => named(b.election.state) === 'a', 2_000 + 2 * 200 + 50);
  });

  it('a leader whose reads of the key fail while its confirmations succeed keeps naming itself', async () => {
    const a = cuttable('a');
    a.election.start();
    await until(() => a.election.isLeader());
    const seen: string[] = [];
    a.election.state$.subscribe((state) => seen.push(named(state)));
    // The confirmation is a consistent read of the key too (a transaction): it says who holds it.
    a.link.fate = (request) => (request.name === 'kv.get' ? refusedWith(500) : null);
    // A follower joins: the leader names it in the key, which wakes its long poll; the next fail.
    candidate('b').election.start();
    await world.clock.advance(5 * D);
    expect(a.link.faulted).toBeGreaterThan(2);
    expect(a.election.isLeader()).toBe(true);
    expect(seen).not.toContain('not known');
  });
});
