// Writes whose outcome the candidate never learns: the answer is lost or comes after requestTimeout
// (slow Raft commits), the write applied or not. On the Consul model, each candidate behind its own
// link that can lose a request or its answer. Found by the simulator: seeds 18219 and 14299.
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
/** Long, so that a candidate queued behind the list (by the hash of its id) is seen to wait. */
const STEP = 1_000;

/** What happens to one request on its way: lost before Consul, or carried out with its answer lost. */
type Fate = 'request-lost' | 'answer-lost';

/** A candidate's link to the model; `fate` decides each request's fate (null: delivered). */
class FaultyLink implements ModelTransport {
  fate: ((request: ModelRequest) => Fate | null) | null = null;
  /** How many requests met a fate other than delivery. */
  faulted = 0;
  /** Runs once Consul has carried out a request whose answer is lost. */
  afterApplied: (() => void) | null = null;
  /** The writing transactions sent (acquires, rewrites, releases). */
  writes = 0;
  constructor(private readonly clock: VirtualClock) {}

  send(request: ModelRequest) {
    const fate = this.fate?.(request) ?? null;
    if (fate) this.faulted += 1;
    if (writingTxn(request)) this.writes += 1;
    return cancellable(request, async () => {
      if (fate === null) return request.handle();
      if (fate === 'answer-lost') {
        await request.handle();
        this.afterApplied?.();
      }
      // The client gives up after its timeout, knowing nothing of what Consul did.
      await new Promise<void>((resolve) => this.clock.setTimer(resolve, request.timeoutMs));
      throw timeoutError(request.name);
    });
  }
}

/** Transactions that write (acquire, value rewrite, release); reads and check-only ones pass. */
const writingTxn = (request: ModelRequest): boolean =>
  request.name === 'Transaction.create' && request.write;

describe('writes whose outcome is unknown (virtual clock, Consul model)', () => {
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

  const elect = (instanceId: string, link: FaultyLink): LeaderElection => {
    const election = new LeaderElection({
      key: KEY,
      instanceId,
      clock,
      consulPort: modelPort(model, link),
      logger: memoryLogger(instanceId),
      leaseDuration: D,
      lockDelay: 1_500,
      requestTimeout: 200,
      // Renewed every 30 s: what a candidate learns only at its renewal, it learns late.
      sessionTtl: '60s',
      healthCheck: { ttl: '2s', standbyTtl: '10s' },
      successionStep: STEP,
      retry: { initialDelay: 100, maxDelay: 2_000 },
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
  const keyValue = (): string | null => {
    const raw = model.entryOf(KEY)?.Value;
    return raw ? Buffer.from(raw, 'base64').toString() : null;
  };
  const successorsInKey = (): readonly string[] => decodeLeaderValue(keyValue())?.successors ?? [];

  // 'b' queues 6 steps behind an empty list (the hash of its id): named, it tries at once.
  it.each<[string, Fate]>([
    ['went through', 'answer-lost'],
    ['never reached Consul', 'request-lost'],
  ])(
    'names its successor in the value it releases although the answer to its rewrite of the successors was lost (the rewrite %s)',
    async (_what, fate) => {
      const aLink = new FaultyLink(clock);
      const a = elect('a', aLink);
      a.start();
      await until(() => a.isLeader(), 10_000);
      aLink.fate = (request) => (writingTxn(request) ? fate : null);
      const b = elect('b', new FaultyLink(clock));
      b.start();
      // a's watch of the candidates finds b and rewrites the successors; it never hears back.
      await until(() => aLink.faulted > 0, 10_000);
      await clock.advance(300);
      aLink.fate = null;
      await clock.advance(5_000);
      expect(successorsInKey()).toEqual(['b']);
      const resignedAt = clock.now();
      await a.resign({ pause: '1h' });
      const ledAt = await until(() => b.isLeader(), 20_000);
      // The release's marker lets the successor take the key at once: well under one step.
      expect(ledAt - resignedAt).toBeLessThan(STEP / 2);
    },
  );

  it('learns that its session is gone from a renewal when an acquire never answers in time, not at the next scheduled renewal', async () => {
    const a = elect('a', new FaultyLink(clock));
    a.start();
    await until(() => a.isLeader(), 10_000);
    const bLink = new FaultyLink(clock);
    const b = elect('b', bLink);
    b.start();
    await clock.advance(2_000);
    // An operator destroys b's session while b follows; b's renewal is 30 s away.
    const bSession = model.sessionIds().find((id) => model.sessionInfo(id)?.name === `${KEY}#b`);
    model.sessionDestroy(bSession!);
    // Raft commits slower than requestTimeout: every acquire of b is carried out (or refused) by
    // Consul, its answer comes too late. Only a read can tell b what happened.
    bLink.fate = (request) => (writingTxn(request) ? 'answer-lost' : null);
    await clock.advance(100);
    const stoppedAt = clock.now();
    await a.stop();
    const ledAt = await until(() => b.isLeader(), 40_000);
    // Learned from a renewal after the first acquire without an answer (a read, answered without a
    // commit), then a new session, an acquire whose answer is lost, adoption and D.
    expect(ledAt - stoppedAt).toBeLessThan(10_000);
  });

  it('adopts its own hold found under an operator’s value as its own leader, writes its value back once, and rewrites no more', async () => {
    const aLink = new FaultyLink(clock);
    const a = elect('a', aLink);
    // a's first acquire goes through, its answer is lost, and an operator's plain PUT (which keeps
    // the session) puts a leader-like value of someone else's under a's session before a reads it.
    let first = true;
    aLink.fate = (request) =>
      writingTxn(request) && first ? ((first = false), 'answer-lost') : null;
    aLink.afterApplied = () => {
      model.kvPut(
        KEY,
        JSON.stringify({ instanceId: 'operator', metadata: {}, since: '2026-01-01T00:00:00.000Z' }),
      );
    };
    a.start();
    await until(() => a.isLeader(), 10_000);
    const writesWhenLeading = aLink.writes;
    // A candidate joins: a names it in the key.
    elect('b', new FaultyLink(clock)).start();
    await clock.advance(10_000);
    expect(a.state.leader?.instanceId).toBe('a');
    expect(decodeLeaderValue(keyValue())?.instanceId).toBe('a');
    expect(successorsInKey()).toEqual(['b']);
    // One write-back and one successor rewrite, not one per read of its own write.
    expect(aLink.writes - writesWhenLeading).toBeLessThanOrEqual(2);
  });
});
