// A follower whose session Consul destroyed (an operator, a fault) while it followed: without a
// health check and with a long session TTL, it learns so only when Consul refuses its acquire for
// the invalid session. Found by the simulator: seed 17001 (a resign's handoff 3.4 s against a bound
// of 2.8 s: the follower waited its succession slot twice).
import { useModelElections } from '../../support/model-elections';
import { instanceIdInSlot } from '../../support/succession-slot';
import { VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

/** Long, so that a candidate queued behind the list (by the hash of its id) is seen to wait. */
const STEP = 1_000;
/** The follower's hash slot: no health check, so the leader names no successors. */
const SLOT = 6;

describe('a follower whose session was destroyed (virtual clock, Consul model)', () => {
  // No health check: the leader names nobody, every follower queues in its hash slot. Renewed every
  // 30 s (sessionTtl 60 s): the follower learns of its destroyed session at its acquire.
  const world = useModelElections({ successionStep: STEP, healthCheck: false });
  const { elect, until } = world;

  it('takes a released key once its succession turn came, not a second turn later, when the acquire at its turn was refused for the destroyed session', async () => {
    const a = elect('a');
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bId = instanceIdInSlot('b', SLOT);
    const b = elect(bId);
    b.start();
    await world.clock.advance(2_000);
    const bSession = world.model
      .sessionIds()
      .find((id) => world.model.sessionInfo(id)?.name === `${KEY}#${bId}`);
    world.model.sessionDestroy(bSession!);
    await world.clock.advance(100);
    const resignedAt = world.clock.now();
    await a.resign({ pause: '1h' });
    const ledAt = await until(() => b.isLeader(), 30_000);
    // Its turn is SLOT steps after it saw the released key; the refusal, the new session and one
    // read add a few ms. The turn counted again from the new session's first read is a liveness
    // cost only: the key stayed free throughout, and the acquire is conditioned on the entry seen.
    expect(ledAt - resignedAt).toBeGreaterThanOrEqual(SLOT * STEP - 10);
    expect(ledAt - resignedAt).toBeLessThan((SLOT + 0.5) * STEP);
  });

  it('keeps its place in the succession when a renewal tells it, while it waits its turn, that its session was destroyed', async () => {
    const a = elect('a');
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bId = instanceIdInSlot('b', SLOT);
    const b = elect(bId);
    const bStartedAt = world.clock.now();
    b.start();
    await world.clock.advance(2_000);
    const bSession = world.model
      .sessionIds()
      .find((id) => world.model.sessionInfo(id)?.name === `${KEY}#${bId}`);
    world.model.sessionDestroy(bSession!);
    // b renews every 30 s (sessionTtl 60 s): a resigns so that b's renewal comes 3 steps into b's
    // wait for its turn, and answers 404.
    await world.clock.advance(bStartedAt + 30_000 - 3 * STEP - world.clock.now());
    const resignedAt = world.clock.now();
    await a.resign({ pause: '1h' });
    const ledAt = await until(() => b.isLeader(), 30_000);
    // The new session's watch reads the same released entry afresh: the turn still counts from the
    // first sighting of this vacancy.
    expect(ledAt - resignedAt).toBeLessThan((SLOT + 0.5) * STEP);
  });
});
