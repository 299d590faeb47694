// Review of the lost-answer fixes (8a4130f successors, 1535441 verify): interleavings they leave
// open. On the Consul model, each candidate behind a link that can delay or lose a request.
import { LeaderElection } from '../../../lib/election';
import { CandidateSession } from '../../../lib/election/candidate-session';
import { decodeLeaderValue } from '../../../lib/election/leader-value';
import { resolveElectionOptions } from '../../../lib/election/resolve-election-options';
import { ConsulModel } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import {
  cancellable,
  modelPort,
  timeoutError,
  type ModelRequest,
  type ModelTransport,
} from '../../support/model-consul-client';
import { VirtualClock } from '../../support/virtual-clock';
import { VIRTUAL_D as D } from '../../support/virtual-elections';

const KEY = 'spec/leader';

/**
 * What happens to one request: lost before Consul, carried out with its answer lost, or delivered
 * `late` ms after it was sent (a slow commit) and answered then.
 */
type Fate = 'request-lost' | 'answer-lost' | { late: number };

class Link implements ModelTransport {
  fate: ((request: ModelRequest) => Fate | null) | null = null;
  readonly sent: string[] = [];
  constructor(private readonly clock: VirtualClock) {}

  send(request: ModelRequest) {
    this.sent.push(request.name);
    const fate = this.fate?.(request) ?? null;
    return cancellable(request, async () => {
      if (fate === null) return request.handle();
      if (typeof fate === 'object') {
        await new Promise<void>((resolve) => this.clock.setTimer(resolve, fate.late));
        return request.handle();
      }
      if (fate === 'answer-lost') await request.handle();
      await new Promise<void>((resolve) => this.clock.setTimer(resolve, request.timeoutMs));
      throw timeoutError(request.name);
    });
  }

  count(name: string): number {
    return this.sent.filter((sent) => sent === name).length;
  }
}

const writingTxn = (request: ModelRequest): boolean =>
  request.name === 'Transaction.create' && request.write;

describe('review of the lost-answer fixes (virtual clock, Consul model)', () => {
  let clock: VirtualClock;
  let model: ConsulModel;
  let elections: LeaderElection[];

  beforeEach(() => {
    clock = new VirtualClock();
    model = new ConsulModel(clock);
    elections = [];
  });
  afterEach(async () => {
    await Promise.race([Promise.all(elections.map((e) => e.stop())), clock.advance(30_000)]);
    model.dispose();
  });

  const options = (instanceId: string, step: number) => ({
    key: KEY,
    instanceId,
    leaseDuration: D,
    lockDelay: 1_500,
    requestTimeout: 200,
    sessionTtl: '60s',
    healthCheck: { ttl: '2s', standbyTtl: '10s' },
    successionStep: step,
    retry: { initialDelay: 100, maxDelay: 2_000 },
  });
  const elect = (instanceId: string, link: Link, step = 1_000): LeaderElection => {
    const election = new LeaderElection({
      ...options(instanceId, step),
      clock,
      consulPort: modelPort(model, link),
      logger: memoryLogger(instanceId),
    });
    elections.push(election);
    return election;
  };
  const until = async (probe: () => boolean, limitMs: number): Promise<number> => {
    for (let waited = 0; !probe(); waited += 5) {
      if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await clock.advance(5);
    }
    return clock.now();
  };
  const valueInKey = () => {
    const raw = model.entryOf(KEY)?.Value;
    return decodeLeaderValue(raw ? Buffer.from(raw, 'base64').toString() : null);
  };

  it('names its successor in the value it releases when it resigns while its rewrite of the successors is still on its way (slow commits)', async () => {
    const aLink = new Link(clock);
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    const b = elect('b', new Link(clock));
    // Every write of a reaches Consul 150 ms after it was sent, and is answered then (< requestTimeout).
    aLink.fate = (request) => (writingTxn(request) ? { late: 150 } : null);
    const txnsBefore = aLink.count('Transaction.create');
    b.start();
    // a's watch of the candidates finds b and sends the rewrite naming b.
    await until(() => aLink.count('Transaction.create') > txnsBefore, 10_000);
    const resignedAt = clock.now();
    await Promise.race([a.resign({ pause: '1h' }), clock.advance(1_000)]);
    const ledAt = await until(() => b.isLeader(), 20_000);
    // The rewrite landed before the release: the release must not put back the list without b.
    expect(ledAt - resignedAt).toBeLessThan(1_000 / 2);
  });

  it('writes the successors of a new hold although a rewrite of its previous hold was still unanswered when it began', async () => {
    const aLink = new Link(clock);
    const a = elect('a', aLink, 10);
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bLink = new Link(clock);
    // b never takes the key: its acquires never reach Consul.
    bLink.fate = (request) => (writingTxn(request) ? 'request-lost' : null);
    const b = elect('b', bLink, 10);
    let lost = 0;
    aLink.fate = (request) => (writingTxn(request) && lost++ === 0 ? 'request-lost' : null);
    b.start();
    // a's rewrite naming b is lost on its way; while a waits for its answer, an operator deletes
    // the key and a takes it again at once (a new hold).
    await until(() => lost > 0, 10_000);
    const tokenBefore = a.state.leader?.fencingToken;
    model.kvDelete(KEY);
    await until(() => !!a.state.leader && a.state.leader.fencingToken !== tokenBefore, 150);
    await clock.advance(5_000);
    expect(a.isLeader()).toBe(true);
    expect(valueInKey()?.successors).toEqual(['b']);
  });

  it('keeps one renewal every sessionTtl/2 after a check of the session that raced the scheduled renewal', async () => {
    const link = new Link(clock);
    const port = modelPort(model, link);
    const resolved = resolveElectionOptions({ ...options('a', 1_000), healthCheck: undefined });
    const lost: string[] = [];
    const session = await CandidateSession.open(
      port,
      resolved,
      clock,
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
    link.fate = (request) =>
      request.name === 'session.renew' && renewals++ === 0 ? { late: 150 } : null;
    await clock.advance(30_000 + 50);
    expect(renewals).toBe(1);
    await session.verify();
    const before = link.count('session.renew');
    await clock.advance(300_000);
    session.close();
    // 300 s at one renewal per 30 s.
    expect(link.count('session.renew') - before).toBeLessThanOrEqual(10);
    expect(lost).toEqual([]);
  });

  it("keeps its check passing when the answer to the switch of its check to the leader's short TTL is lost", async () => {
    const aLink = new Link(clock);
    // The re-registration with the leader's 2 s TTL is carried out by the agent, its answer lost.
    let switches = 0;
    aLink.fate = (request) =>
      request.name === 'agent.check.register' && switches++ === 0 ? 'answer-lost' : null;
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    const token = a.state.leader?.fencingToken;
    await until(() => switches > 0, 5_000);
    await clock.advance(10_000);
    // Still the same term: the check was updated before the 2 s TTL in force ran out.
    expect(a.isLeader()).toBe(true);
    expect(a.state.leader?.fencingToken).toBe(token);
  });

  it("writes its value back over an operator's copy of it that changed more than the successors, token and all", async () => {
    const a = elect('a', new Link(clock));
    a.start();
    await until(() => a.isLeader(), 10_000);
    elect('b', new Link(clock)).start();
    // a names b: the key now carries a's token.
    await until(() => valueInKey()?.successors?.[0] === 'b', 10_000);
    const ours = valueInKey()!;
    expect(ours.token).toBe(a.state.leader?.fencingToken);
    model.kvPut(KEY, JSON.stringify({ ...ours, metadata: { forged: true }, leaseMs: 1 }));
    await clock.advance(1_000);
    expect(valueInKey()).toEqual(ours);
    expect(a.state.leader?.metadata).toEqual({});
  });
});
