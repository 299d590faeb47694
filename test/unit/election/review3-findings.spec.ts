// Review of the lost-answer fixes (8a4130f successors, 1535441 verify): interleavings they leave
// open. On the Consul model, each candidate behind a link that can delay or lose a request.
import { CandidateSession } from '../../../lib/election/session/candidate-session';
import { resolveElectionOptions } from '../../../lib/election/options/resolve-election-options';
import { writingTxn } from '../../support/faulty-link';
import { useModelElections } from '../../support/model-elections';
import { modelPort } from '../../support/model-consul-client';
import { VIRTUAL_KEY as KEY } from '../../support/virtual-elections';

describe('review of the lost-answer fixes (virtual clock, Consul model)', () => {
  const world = useModelElections();
  const { link, options, elect, until, valueInKey } = world;

  it('names its successor in the value it releases when it resigns while its rewrite of the successors is still on its way (slow commits)', async () => {
    const aLink = link();
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    const b = elect('b');
    // Every write of a reaches Consul 150 ms after it was sent, and is answered then (< requestTimeout).
    aLink.fate = (request) => (writingTxn(request) ? { late: 150 } : null);
    const txnsBefore = aLink.count('Transaction.create');
    b.start();
    // a's watch of the candidates finds b and sends the rewrite naming b.
    await until(() => aLink.count('Transaction.create') > txnsBefore, 10_000);
    const resignedAt = world.clock.now();
    await Promise.race([a.resign({ pause: '1h' }), world.clock.advance(1_000)]);
    const ledAt = await until(() => b.isLeader(), 20_000);
    // The rewrite landed before the release: the release must not put back the list without b.
    expect(ledAt - resignedAt).toBeLessThan(1_000 / 2);
  });

  it('writes the successors of a new hold although a rewrite of its previous hold was still unanswered when it began', async () => {
    const aLink = link();
    const a = elect('a', aLink, { successionStep: 10 });
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bLink = link();
    // b never takes the key: its acquires never reach Consul.
    bLink.fate = (request) => (writingTxn(request) ? 'request-lost' : null);
    const b = elect('b', bLink, { successionStep: 10 });
    let lost = 0;
    aLink.fate = (request) => (writingTxn(request) && lost++ === 0 ? 'request-lost' : null);
    b.start();
    // a's rewrite naming b is lost on its way; while a waits for its answer, an operator deletes
    // the key and a takes it again at once (a new hold).
    await until(() => lost > 0, 10_000);
    const tokenBefore = a.state.leader?.fencingToken;
    world.model.kvDelete(KEY);
    await until(() => !!a.state.leader && a.state.leader.fencingToken !== tokenBefore, 150);
    await world.clock.advance(5_000);
    expect(a.isLeader()).toBe(true);
    expect(valueInKey()?.successors).toEqual(['b']);
  });

  it('keeps one renewal every sessionTtl/2 after a check of the session that raced the scheduled renewal', async () => {
    const sessionLink = link();
    const port = modelPort(world.model, sessionLink);
    const resolved = resolveElectionOptions({ ...options('a'), healthCheck: undefined });
    const lost: string[] = [];
    const session = await CandidateSession.open(
      port,
      resolved,
      world.clock,
      {
        onLost: (s) => void lost.push(s.id),
        onNoLocalAgent: () => undefined,
        onSuccess: () => undefined,
        onProblem: () => undefined,
      },
      null,
    );
    // The scheduled renewal (at 30 s) is answered 150 ms late; the check in between at once.
    let renewals = 0;
    sessionLink.fate = (request) =>
      request.name === 'session.renew' && renewals++ === 0 ? { late: 150 } : null;
    await world.clock.advance(30_000 + 50);
    expect(renewals).toBe(1);
    await session.verify();
    const before = sessionLink.count('session.renew');
    await world.clock.advance(300_000);
    session.close();
    // 300 s at one renewal per 30 s.
    expect(sessionLink.count('session.renew') - before).toBeLessThanOrEqual(10);
    expect(lost).toEqual([]);
  });

  it("keeps its check passing when the answer to the switch of its check to the leader's short TTL is lost", async () => {
    const aLink = link();
    // The re-registration with the leader's 2 s TTL is carried out by the agent, its answer lost.
    let switches = 0;
    aLink.fate = (request) =>
      request.name === 'agent.check.register' && switches++ === 0 ? 'answer-lost' : null;
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    const token = a.state.leader?.fencingToken;
    await until(() => switches > 0, 5_000);
    await world.clock.advance(10_000);
    // Still the same term: the check was updated before the 2 s TTL in force ran out.
    expect(a.isLeader()).toBe(true);
    expect(a.state.leader?.fencingToken).toBe(token);
  });

  it("writes its value back over an operator's copy of it that changed more than the successors, token and all", async () => {
    const a = elect('a');
    a.start();
    await until(() => a.isLeader(), 10_000);
    elect('b').start();
    // a names b: the key now carries a's token.
    await until(() => valueInKey()?.successors?.[0] === 'b', 10_000);
    const ours = valueInKey()!;
    expect(ours.token).toBe(a.state.leader?.fencingToken);
    world.model.kvPut(KEY, JSON.stringify({ ...ours, metadata: { forged: true }, leaseMs: 1 }));
    await world.clock.advance(1_000);
    expect(valueInKey()).toEqual(ours);
    expect(a.state.leader?.metadata).toEqual({});
  });
});
