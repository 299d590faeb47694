// Fourth review (helper review2, after 7a8fb4a) of the value rewrites, adoption and lost-answer
// fixes: interleavings they leave open. On the Consul model, each candidate behind a link that can
// delay, lose or cut off its requests.
import type { LeaderElection } from '../../../lib/election';
import { decodeLeaderValue } from '../../../lib/election/protocol/leader-value';
import { writingTxn } from '../../support/faulty-link';
import { useModelElections } from '../../support/model-elections';
import { VIRTUAL_D as D, VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

describe('fourth review of the value rewrites and lost answers (virtual clock, Consul model)', () => {
  const world = useModelElections({ successionStep: 100 });
  const { link, elect, until, rawInKey, valueInKey } = world;

  /** Starts `a`, lets it lead, and has it resign for 500 ms: returns its release as stored. */
  const leadThenRelease = async (a: LeaderElection): Promise<string> => {
    a.start();
    await until(() => a.isLeader(), 10_000);
    await Promise.race([a.resign({ pause: 500 }), world.clock.advance(1_000)]);
    return rawInKey()!;
  };
  /** The moments, sampled every 5 ms for 3 s, at which `a` and `b` both led. */
  const bothLeading = async (a: LeaderElection, b: LeaderElection): Promise<number[]> => {
    const overlap: number[] = [];
    for (let waited = 0; waited < 3_000; waited += 5) {
      if (a.isLeader() && b.isLeader()) overlap.push(world.clock.now());
      await world.clock.advance(5);
    }
    return overlap;
  };

  it("writes its own value back over an operator's copy of its earlier release found in a hold it adopts (marker, lease and metadata)", async () => {
    const aLink = link();
    const a = elect('a', aLink);
    // a's release: the marker, bound to a's session (the same one a campaigns with next).
    const release = decodeLeaderValue(await leadThenRelease(a))!;
    expect(release.releasedAt).toBeDefined();
    const sessionId = release.releasedBy;
    // a's next acquire goes through, its answer lost; an operator imports a backup holding a's
    // release (with a forged lease and metadata) before a reads the key: a plain PUT, the session kept.
    const backup = JSON.stringify({ ...release, leaseMs: 1, metadata: { forged: true } });
    let acquires = 0;
    aLink.fate = (request) =>
      writingTxn(request) && acquires++ === 0
        ? { answerLost: true, then: () => void world.model.kvPut(KEY, backup) }
        : null;
    await until(() => acquires > 0, 20_000);
    expect(world.model.entryOf(KEY)?.Session).toBe(sessionId);
    await until(() => a.isLeader(), 10_000);
    await world.clock.advance(1_000);
    // The key, under a's hold, must not claim a release (nor the operator's lease) for a's hold,
    // and a publishes its own metadata.
    const held = valueInKey()!;
    expect(world.model.entryOf(KEY)?.Session).toBe(sessionId);
    expect(held.releasedAt).toBeUndefined();
    expect(held.releasedBy).toBeUndefined();
    expect(held.leaseMs).toBe(D);
    expect(held.token).toBe(a.state.leader?.fencingToken);
    expect(a.state.leader?.metadata).toEqual({});
  });
  it("writes its value back over an operator's once while every answer to its writes is lost (slow commits)", async () => {
    const aLink = link();
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    await world.clock.advance(1_000);
    // From now on every write of a is carried out, its answer never comes (commits slower than
    // requestTimeout); the reads still answer.
    aLink.fate = (request) => (writingTxn(request) ? { answerLost: true } : null);
    const before = aLink.writes;
    world.model.kvPut(KEY, JSON.stringify({ instanceId: 'operator' }));
    await world.clock.advance(10_000);
    expect(a.isLeader()).toBe(true);
    expect(valueInKey()?.instanceId).toBe('a');
    // One write-back did it: its answer is lost, but the next read shows our value at a newer index.
    expect(aLink.writes - before).toBe(1);
  });

  it("never leads beside a cut-off holder that adopted a hold holding an operator's copy of its earlier release", async () => {
    const aLink = link();
    const a = elect('a', aLink);
    const backup = await leadThenRelease(a);
    const sessionId = decodeLeaderValue(backup)!.releasedBy!;
    let acquires = 0;
    aLink.fate = (request) =>
      writingTxn(request) && acquires++ === 0
        ? { answerLost: true, then: () => void world.model.kvPut(KEY, backup) }
        : null;
    await until(() => a.isLeader(), 20_000);
    const b = elect('b');
    b.start();
    await world.clock.advance(500);
    // a is cut off from Consul; an operator destroys its session (the key is freed, its value
    // kept), and the server restarts, forgetting the lock-delay (it lives in memory only).
    aLink.cut = true;
    world.model.sessionDestroy(sessionId);
    world.model.restart(false);
    const overlap = await bothLeading(a, b);
    expect(b.isLeader()).toBe(true);
    expect(overlap).toEqual([]);
  });

  it("never leads beside a cut-off holder after an operator's import of an earlier release of the holder's own session", async () => {
    const aLink = link();
    const a = elect('a', aLink);
    // a's release of its first term: the marker, bound to the session it keeps for its next term.
    const backup = await leadThenRelease(a);
    const sessionId = decodeLeaderValue(backup)!.releasedBy!;
    const firstToken = decodeLeaderValue(backup)!.token;
    await until(() => a.isLeader(), 20_000);
    expect(a.state.leader?.fencingToken).not.toBe(firstToken);
    const b = elect('b');
    b.start();
    // a names b: the key carries a's new token, which b has seen.
    await until(() => valueInKey()?.successors?.[0] === 'b', 10_000);
    // a is cut off from Consul; an operator imports a backup holding a's earlier release (a plain
    // PUT keeps a's session on the key), destroys a's session, and the server restarts, forgetting
    // the lock-delay.
    aLink.cut = true;
    world.model.kvPut(KEY, backup);
    await world.clock.advance(50);
    world.model.sessionDestroy(sessionId);
    world.model.restart(false);
    const overlap = await bothLeading(a, b);
    expect(b.isLeader()).toBe(true);
    expect(overlap).toEqual([]);
  });
});
