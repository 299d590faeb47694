// What the election does when a check update finds its check unknown to the agent while Consul
// still knows the session bound to it (virtual clock, in-memory Consul whose agent "forgets" the
// check on demand). Against real servers behind load balancers: test/integration/election/no-local-agent.
import { LeaderElection, type NewSession } from '../../../lib/election';
import { memoryLogger } from '../../support/election-kit';
import { InMemoryConsul } from '../../support/in-memory-consul';
import { VirtualClock } from '../../support/virtual-clock';

/** An in-memory Consul whose agent answers "unknown check" to the next `forget` check updates. */
class ForgetfulAgent extends InMemoryConsul {
  forget = 0;
  /** The checks of every session created, in order (destroyed ones included). */
  readonly created: Array<readonly string[]> = [];
  override async createSession(session: NewSession): Promise<string> {
    this.created.push(session.checks);
    return super.createSession(session);
  }
  override async passCheck(): Promise<'passed'> {
    const answer = await super.passCheck();
    if (this.forget === 0) return answer;
    this.forget -= 1;
    return 'not-found' as 'passed';
  }
}

describe('a check that the answering agent does not know while its session lives', () => {
  let clock: VirtualClock;
  let consul: ForgetfulAgent;
  let election: LeaderElection;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(() => {
    clock = new VirtualClock();
    consul = new ForgetfulAgent(clock);
    log = memoryLogger('a');
    election = new LeaderElection({
      key: 'spec/leader',
      instanceId: 'a',
      clock,
      consulPort: consul,
      logger: log,
      leaseDuration: 1_000,
      lockDelay: 1_000,
      healthCheck: { ttl: '2s', standbyTtl: '10s' },
      retry: { initialDelay: 100, maxDelay: 2_000 },
    });
  });
  afterEach(async () => {
    await Promise.race([election.stop(), clock.advance(10_000)]);
  });

  /** Runs virtual time until `probe` holds. */
  async function until(probe: () => boolean, limitMs = 30_000): Promise<void> {
    for (let waited = 0; !probe(); waited += 10) {
      if (waited > limitMs) throw new Error(`condition never held: ${log.lines.join('\n')}`);
      await clock.advance(10);
    }
  }

  it('the first time, registers the check again and binds a new session to it (an agent that restarted without its state)', async () => {
    election.start();
    await until(() => election.isLeader());
    consul.forget = 1;
    await until(() => consul.created.length === 2);
    const [first, second] = consul.created;
    expect(second).toEqual(first);
    expect(second).toHaveLength(1);
    expect(log.lines.some((line) => /registering the check again/.test(line))).toBe(true);
    expect(election.state.problem).toBeNull();
  });

  it('when it happens again, goes on with sessions without a check and says there is no local agent', async () => {
    election.start();
    await until(() => election.isLeader());
    // The update after the re-registration answers "unknown" too.
    consul.forget = 2;
    await until(() => election.state.problem?.kind === 'no-local-agent');
    expect(consul.created.at(-1)).toEqual([]);
    expect(election.state.consulReachable).toBe(true);
    expect(election.state.problem?.message).toMatch(/session TTL, within 2 × sessionTtl/);
    await until(() => election.isLeader());
  });
});
