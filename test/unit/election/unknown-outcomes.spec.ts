// Writes whose outcome the candidate never learns: the answer is lost or comes after requestTimeout
// (slow Raft commits), the write applied or not. On the Consul model, each candidate behind its own
// link that can lose a request or its answer. Found by the simulator: seeds 18219 and 14299.
import { writingTxn, type Fate } from '../../support/faulty-link';
import { useModelElections } from '../../support/model-elections';
import { VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

/** Long, so that a candidate queued behind the list (by the hash of its id) is seen to wait. */
const STEP = 1_000;

describe('writes whose outcome is unknown (virtual clock, Consul model)', () => {
  // Renewed every 30 s (sessionTtl 60 s): what a candidate learns only at its renewal, it learns late.
  const world = useModelElections({ successionStep: STEP });
  const { link, elect, until, valueInKey } = world;
  const successorsInKey = (): readonly string[] => valueInKey()?.successors ?? [];

  // 'b' queues 6 steps behind an empty list (the hash of its id): named, it tries at once.
  it.each<[string, Fate]>([
    ['went through', 'answer-lost'],
    ['never reached Consul', 'request-lost'],
  ])(
    'names its successor in the value it releases although the answer to its rewrite of the successors was lost (the rewrite %s)',
    async (_what, fate) => {
      const aLink = link();
      const a = elect('a', aLink);
      a.start();
      await until(() => a.isLeader(), 10_000);
      aLink.fate = (request) => (writingTxn(request) ? fate : null);
      const b = elect('b');
      b.start();
      // a's watch of the candidates finds b and rewrites the successors; it never hears back.
      await until(() => aLink.faulted > 0, 10_000);
      await world.clock.advance(300);
      aLink.fate = null;
      await world.clock.advance(5_000);
      expect(successorsInKey()).toEqual(['b']);
      const resignedAt = world.clock.now();
      await a.resign({ pause: '1h' });
      const ledAt = await until(() => b.isLeader(), 20_000);
      // The release's marker lets the successor take the key at once: well under one step.
      expect(ledAt - resignedAt).toBeLessThan(STEP / 2);
    },
  );

  it('learns that its session is gone from a renewal when an acquire never answers in time, not at the next scheduled renewal', async () => {
    const a = elect('a');
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bLink = link();
    const b = elect('b', bLink);
    b.start();
    await world.clock.advance(2_000);
    // An operator destroys b's session while b follows; b's renewal is 30 s away.
    const bSession = world.model
      .sessionIds()
      .find((id) => world.model.sessionInfo(id)?.name === `${KEY}#b`);
    world.model.sessionDestroy(bSession!);
    // Raft commits slower than requestTimeout: every acquire of b is carried out (or refused) by
    // Consul, its answer comes too late. Only a read can tell b what happened.
    bLink.fate = (request) => (writingTxn(request) ? 'answer-lost' : null);
    await world.clock.advance(100);
    const stoppedAt = world.clock.now();
    await a.stop();
    const ledAt = await until(() => b.isLeader(), 40_000);
    // Learned from a renewal after the first acquire without an answer (a read, answered without a
    // commit), then a new session, an acquire whose answer is lost, adoption and D.
    expect(ledAt - stoppedAt).toBeLessThan(10_000);
  });

  it('adopts its own hold found under an operator’s value as its own leader, writes its value back once, and rewrites no more', async () => {
    const aLink = link();
    const a = elect('a', aLink);
    // a's first acquire goes through, its answer is lost, and an operator's plain PUT (which keeps
    // the session) puts a leader-like value of someone else's under a's session before a reads it.
    const operatorsValue = JSON.stringify({
      instanceId: 'operator',
      metadata: {},
      since: '2026-01-01T00:00:00.000Z',
    });
    let first = true;
    aLink.fate = (request) =>
      writingTxn(request) && first
        ? ((first = false),
          { answerLost: true, then: () => world.model.kvPut(KEY, operatorsValue) })
        : null;
    a.start();
    await until(() => a.isLeader(), 10_000);
    const writesWhenLeading = aLink.writes;
    // A candidate joins: a names it in the key.
    elect('b').start();
    await world.clock.advance(10_000);
    expect(a.state.leader?.instanceId).toBe('a');
    expect(valueInKey()?.instanceId).toBe('a');
    expect(successorsInKey()).toEqual(['b']);
    // One write-back and one successor rewrite, not one per read of its own write.
    expect(aLink.writes - writesWhenLeading).toBeLessThanOrEqual(2);
  });
});
