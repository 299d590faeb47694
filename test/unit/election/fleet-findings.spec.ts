// Issue 18, defect 1: a rolling change that shortens leaseDuration. Instances of the old config
// (D = 4 s) and of the new one (D = 1 s) share the key; an old holder cut off from Consul acts for
// up to 4 s after its last confirmation, and every later holder must wait that out however many
// vacancies lie between. On the virtual clock and the Consul model, each candidate behind a link
// that can be cut off.
import type { ElectionOptions, LeaderElection } from '../../../lib/election';
import { refusedWith, writingTxn, type FaultyLink } from '../../support/faulty-link';
import { useModelElections } from '../../support/model-elections';
import { VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

/** The old config: D = 4 s (its lock-delay must be at least D). */
const OLD: Partial<ElectionOptions> = { leaseDuration: 4_000, lockDelay: '4s' };
/** The new config: D = 1 s, lock-delay = D. */
const NEW: Partial<ElectionOptions> = { leaseDuration: 1_000, lockDelay: '1s' };

describe('a rolling change that shortens leaseDuration (virtual clock, Consul model)', () => {
  const world = useModelElections({ successionStep: 100 });
  const { link, elect, until, valueInKey, cutRightAfterConfirmation, overlapOf } = world;

  it('never leads beside a cut-off old holder after a new holder that was waiting out the old lease was cut off too and the key deleted twice', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1Link = link();
    const n1 = elect('n1', n1Link, NEW);
    const n2 = elect('n2', link(), NEW);
    n1.start();
    await world.clock.advance(200);
    n2.start();
    await until(() => valueInKey()?.successors?.length === 2, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    // n1 is named first: it takes the absent key and waits out old's 4 s; cut off while it waits.
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    await world.clock.advance(50);
    n1Link.cut = true;
    world.model.kvDelete(KEY);
    const overlap = await overlapOf({ old, n1, n2 }, 6_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off holder of its own instance id that ran with the longer lease (a restarted StatefulSet pod)', async () => {
    const oldLink = link();
    const old = elect('pod-0', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    // The same pod, restarted with the new config while the old process is still alive somewhere.
    const restarted = elect('pod-0', link(), NEW);
    restarted.start();
    await world.clock.advance(1_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    const overlap = await overlapOf({ old, restarted }, 6_000);
    expect(restarted.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off old holder after a new holder died while waiting out the old lease', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1Link = link();
    const n1 = elect('n1', n1Link, NEW);
    const n2 = elect('n2', link(), NEW);
    n1.start();
    await world.clock.advance(200);
    n2.start();
    await until(() => valueInKey()?.successors?.length === 2, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    // n1 takes the absent key and dies while it waits out old's 4 s: its session goes with its
    // check (2 s TTL), Consul frees the key and keeps n1's value.
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    await world.clock.advance(50);
    n1Link.cut = true;
    const overlap = await overlapOf({ old, n1, n2 }, 8_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('advertises the old lease only until its term begins, so a deletion after that, once the old holder left the catalog, costs its successor the new lease alone', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n1Link = link();
    const n1 = elect('n1', n1Link, NEW);
    const n2 = elect('n2', link(), NEW);
    n1.start();
    await world.clock.advance(200);
    n2.start();
    await until(() => valueInKey()?.successors?.length === 2, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    world.model.kvDelete(KEY);
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    // While n1 waits out old's lease, the key says what n1's successor would owe.
    expect(valueInKey()?.leaseMs).toBe(4_000);
    await until(() => n1.isLeader(), 10_000);
    await until(() => valueInKey()?.leaseMs === 1_000, 500);
    // A holder that takes the key absent waits out the lease of every candidate in the catalog:
    // old's service leaves it deregisterCriticalServiceAfter (1 min) after its check turned critical.
    await until(() => !world.model.serviceIds().some((id) => id.includes('-old-')), 120_000);
    // n1 is cut off and the key deleted: n2 owes n1's lease, old's is long over.
    n1Link.cut = true;
    world.model.kvDelete(KEY);
    const deletedAt = world.clock.wallNow();
    const overlap = await overlapOf({ old, n1, n2 }, 3_000);
    expect(overlap).toEqual({ ms: 0, who: [] });
    // n1's lease (1.01 s) after its acquire's answer, behind the succession step and the paced
    // reads of an absent key; old's would have cost 4.04 s.
    const ledAt = n2.state.term!.startedAt.getTime();
    expect(ledAt - deletedAt).toBeLessThan(2_000);
    // About 1.5 min of virtual time (until the old holder's service leaves the catalog): a loaded
    // machine took more than the default minute of real time to run it.
  }, 180_000);

  // Simulator seed 989: the old holder (D = 4.9 s) cut off and its key deleted; an instance that
  // never saw the old value (cut off throughout that hold) took the absent key, owing only its own
  // D, and stopped before its term began; a follower that had seen the old value took the
  // handed-back key and believed its shorter lease, as if the longer one were over.
  it('does not believe a shorter lease from a holder whose term had not begun: it may not have known the longer one', async () => {
    const oldLink = link();
    const old = elect('old', oldLink, OLD);
    old.start();
    await until(() => old.isLeader(), 10_000);
    const n2Link = link();
    const n2 = elect('n2', n2Link, NEW);
    n2.start();
    await until(() => valueInKey()?.successors?.includes('n2') === true, 10_000);
    await cutRightAfterConfirmation(old, oldLink);
    // n2 watches on but its acquires are refused, so that n1 takes the absent key.
    n2Link.fate = (request) => (writingTxn(request) ? refusedWith(500) : null);
    world.model.kvDelete(KEY);
    // n1 starts after the deletion, without a health check: no catalog tells it the old lease, so
    // it knows only its own D (the limit rule 2 states for healthCheck: false).
    const n1 = elect('n1', link(), { ...NEW, healthCheck: false });
    n1.start();
    await until(() => valueInKey()?.instanceId === 'n1', 10_000);
    expect(valueInKey()?.leaseMs).toBe(1_000);
    await n1.stop();
    n2Link.fate = null;
    const overlap = await overlapOf({ old, n1, n2 }, 6_000);
    expect(n2.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });
});

// Issue 18, defect 1, the rolling change that LENGTHENS leaseDuration (simulator seed 3803): a holder
// of the longer lease writes it into the key, but an instance that never read that value knows only
// its own shorter D. Every candidate's service carries its lease, and one that takes the key absent
// waits out the longest lease of the key's candidates in the catalog, critical ones too.
describe('a rolling change that lengthens leaseDuration (virtual clock, Consul model)', () => {
  const world = useModelElections({ successionStep: 100 });
  const { link, elect, until } = world;
  /** The old config: D = 1 s. */
  const SHORT: Partial<ElectionOptions> = { leaseDuration: 1_000, lockDelay: '1s' };
  /** The new config: D = 10 s (long enough to outlast the follower's read that the cut dropped). */
  const LONG: Partial<ElectionOptions> = { leaseDuration: 10_000, lockDelay: '10s' };

  const cutRightAfterConfirmation = async (
    election: LeaderElection,
    electionLink: FaultyLink,
  ): Promise<void> => {
    const deadline = election.state.stepDownDeadline;
    await until(() => election.state.stepDownDeadline !== deadline, 10_000);
    electionLink.cut = true;
  };
  const overlapOf = async (
    elections: Record<string, LeaderElection>,
    forMs: number,
  ): Promise<{ ms: number; who: string[] }> => {
    let ms = 0;
    const who = new Set<string>();
    for (let waited = 0; waited < forMs; waited += 5) {
      const leading = Object.keys(elections).filter((id) => elections[id]!.isLeader());
      if (leading.length > 1) {
        ms += 5;
        leading.forEach((id) => who.add(id));
      }
      await world.clock.advance(5);
    }
    return { ms, who: [...who].sort() };
  };

  it('never leads beside a cut-off holder of the longer lease whose whole hold it missed, once the key was deleted', async () => {
    const first = elect('first', link(), SHORT);
    first.start();
    await until(() => first.isLeader(), 10_000);
    const followerLink = link();
    // A short long poll and backoff, so that it campaigns soon after the cut ends.
    const follower = elect('follower', followerLink, {
      ...SHORT,
      watchWait: '2s',
      retry: { maxDelay: 500 },
    });
    follower.start();
    await until(() => follower.state.leader?.instanceId === 'first', 10_000);
    // The follower is paused (cut off here) through the whole hold of the first longer-lease holder.
    followerLink.cut = true;
    await first.stop();
    const longLink = link();
    const long = elect('long', longLink, LONG);
    long.start();
    await until(() => long.isLeader(), 10_000);
    await cutRightAfterConfirmation(long, longLink);
    world.model.kvDelete(KEY);
    followerLink.cut = false;
    const overlap = await overlapOf({ long, follower }, 16_000);
    expect(follower.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });

  it('never leads beside a cut-off holder of the longer lease when it starts after the key was deleted', async () => {
    const longLink = link();
    const long = elect('long', longLink, LONG);
    long.start();
    // The first holder of an absent key waits out its own lease before it acts.
    await until(() => long.isLeader(), 20_000);
    await cutRightAfterConfirmation(long, longLink);
    world.model.kvDelete(KEY);
    const late = elect('late', link(), SHORT);
    late.start();
    const overlap = await overlapOf({ long, late }, 16_000);
    expect(late.isLeader()).toBe(true);
    expect(overlap).toEqual({ ms: 0, who: [] });
  });
});
