// Fourth review (helper review2, after 7a8fb4a) of the value rewrites, adoption and lost-answer
// fixes: interleavings they leave open. On the Consul model, each candidate behind a link that can
// delay, lose or cut off its requests.
import { LeaderElection } from '../../../lib/election';
import { decodeLeaderValue } from '../../../lib/election/leader-value';
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
 * What happens to one request: carried out with its answer lost (`then` runs right after Consul
 * applied it, before any other answer), or null: delivered and answered. Once `cut`, nothing
 * reaches Consul and no answer comes back, to requests in flight either.
 */
type Fate = { answerLost: true; then?: () => void };

class Link implements ModelTransport {
  fate: ((request: ModelRequest) => Fate | null) | null = null;
  readonly sent: string[] = [];
  cut = false;
  /** Writing transactions sent (acquires, rewrites, releases). */
  writes = 0;
  constructor(private readonly clock: VirtualClock) {}

  send(request: ModelRequest) {
    this.sent.push(request.name);
    if (writingTxn(request)) this.writes += 1;
    const fate = this.fate?.(request) ?? null;
    return cancellable(request, async () => {
      const timedOut = async () => {
        await new Promise<void>((resolve) => this.clock.setTimer(resolve, request.timeoutMs));
        throw timeoutError(request.name);
      };
      if (this.cut) return timedOut();
      if (fate === null) {
        const answer = await request.handle();
        // Cut off while the request was in flight: its answer never arrives either.
        return this.cut ? timedOut() : answer;
      }
      await request.handle();
      fate.then?.();
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

describe('fourth review of the value rewrites and lost answers (virtual clock, Consul model)', () => {
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

  const elect = (instanceId: string, link: Link, step = 100): LeaderElection => {
    const election = new LeaderElection({
      key: KEY,
      instanceId,
      leaseDuration: D,
      lockDelay: 1_500,
      requestTimeout: 200,
      sessionTtl: '60s',
      healthCheck: { ttl: '2s', standbyTtl: '10s' },
      successionStep: step,
      retry: { initialDelay: 100, maxDelay: 2_000 },
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
  const rawInKey = () => {
    const raw = model.entryOf(KEY)?.Value;
    return raw ? Buffer.from(raw, 'base64').toString() : null;
  };
  const valueInKey = () => decodeLeaderValue(rawInKey());

  it("writes its own value back over an operator's copy of its earlier release found in a hold it adopts (marker, lease and metadata)", async () => {
    const link = new Link(clock);
    const a = elect('a', link);
    a.start();
    await until(() => a.isLeader(), 10_000);
    await Promise.race([a.resign({ pause: 500 }), clock.advance(1_000)]);
    // a's release: the marker, bound to a's session (the same one a campaigns with next).
    const release = valueInKey()!;
    expect(release.releasedAt).toBeDefined();
    const sessionId = release.releasedBy;
    // a's next acquire goes through, its answer lost; an operator imports a backup holding a's
    // release (with a forged lease and metadata) before a reads the key: a plain PUT, the session kept.
    const backup = JSON.stringify({ ...release, leaseMs: 1, metadata: { forged: true } });
    let acquires = 0;
    link.fate = (request) =>
      writingTxn(request) && acquires++ === 0
        ? { answerLost: true, then: () => void model.kvPut(KEY, backup) }
        : null;
    await until(() => acquires > 0, 20_000);
    expect(model.entryOf(KEY)?.Session).toBe(sessionId);
    await until(() => a.isLeader(), 10_000);
    await clock.advance(1_000);
    // The key, under a's hold, must not claim a release (nor the operator's lease) for a's hold,
    // and a publishes its own metadata.
    const held = valueInKey()!;
    expect(model.entryOf(KEY)?.Session).toBe(sessionId);
    expect(held.releasedAt).toBeUndefined();
    expect(held.releasedBy).toBeUndefined();
    expect(held.leaseMs).toBe(D);
    expect(held.token).toBe(a.state.leader?.fencingToken);
    expect(a.state.leader?.metadata).toEqual({});
  });
  it("writes its value back over an operator's once while every answer to its writes is lost (slow commits)", async () => {
    const link = new Link(clock);
    const a = elect('a', link);
    a.start();
    await until(() => a.isLeader(), 10_000);
    await clock.advance(1_000);
    // From now on every write of a is carried out, its answer never comes (commits slower than
    // requestTimeout); the reads still answer.
    link.fate = (request) => (writingTxn(request) ? { answerLost: true } : null);
    const before = link.writes;
    model.kvPut(KEY, JSON.stringify({ instanceId: 'operator' }));
    await clock.advance(10_000);
    expect(a.isLeader()).toBe(true);
    expect(valueInKey()?.instanceId).toBe('a');
    // One write-back did it: its answer is lost, but the next read shows our value at a newer index.
    expect(link.writes - before).toBe(1);
  });

  it("never leads beside a cut-off holder that adopted a hold holding an operator's copy of its earlier release", async () => {
    const aLink = new Link(clock);
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    await Promise.race([a.resign({ pause: 500 }), clock.advance(1_000)]);
    const backup = rawInKey()!;
    const sessionId = decodeLeaderValue(backup)!.releasedBy!;
    let acquires = 0;
    aLink.fate = (request) =>
      writingTxn(request) && acquires++ === 0
        ? { answerLost: true, then: () => void model.kvPut(KEY, backup) }
        : null;
    await until(() => a.isLeader(), 20_000);
    const b = elect('b', new Link(clock));
    b.start();
    await clock.advance(500);
    // a is cut off from Consul; an operator destroys its session (the key is freed, its value
    // kept), and the server restarts, forgetting the lock-delay (it lives in memory only).
    aLink.cut = true;
    model.sessionDestroy(sessionId);
    model.restart(false);
    const overlap: number[] = [];
    for (let waited = 0; waited < 3_000; waited += 5) {
      if (a.isLeader() && b.isLeader()) overlap.push(clock.now());
      await clock.advance(5);
    }
    expect(b.isLeader()).toBe(true);
    expect(overlap).toEqual([]);
  });

  it("never leads beside a cut-off holder after an operator's import of an earlier release of the holder's own session", async () => {
    const aLink = new Link(clock);
    const a = elect('a', aLink);
    a.start();
    await until(() => a.isLeader(), 10_000);
    await Promise.race([a.resign({ pause: 500 }), clock.advance(1_000)]);
    // a's release of its first term: the marker, bound to the session it keeps for its next term.
    const backup = rawInKey()!;
    const sessionId = decodeLeaderValue(backup)!.releasedBy!;
    const firstToken = decodeLeaderValue(backup)!.token;
    await until(() => a.isLeader(), 20_000);
    expect(a.state.leader?.fencingToken).not.toBe(firstToken);
    const b = elect('b', new Link(clock));
    b.start();
    // a names b: the key carries a's new token, which b has seen.
    await until(() => valueInKey()?.successors?.[0] === 'b', 10_000);
    // a is cut off from Consul; an operator imports a backup holding a's earlier release (a plain
    // PUT keeps a's session on the key), destroys a's session, and the server restarts, forgetting
    // the lock-delay.
    aLink.cut = true;
    model.kvPut(KEY, backup);
    await clock.advance(50);
    model.sessionDestroy(sessionId);
    model.restart(false);
    const overlap: number[] = [];
    for (let waited = 0; waited < 3_000; waited += 5) {
      if (a.isLeader() && b.isLeader()) overlap.push(clock.now());
      await clock.advance(5);
    }
    expect(b.isLeader()).toBe(true);
    expect(overlap).toEqual([]);
  });
});
