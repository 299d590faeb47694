// How a candidate keeps its session alive when a renewal fails (virtual clock, in-memory Consul
// whose renewals fail on demand). Found by the simulator: seeds 13856 and 16262.
import { LeaderElection } from '../../../lib/election';
import { memoryLogger } from '../../support/election-kit';
import { InMemoryConsul } from '../../support/in-memory-consul';
import { VirtualClock } from '../../support/virtual-clock';

/** An in-memory Consul that records when each renewal was asked for and fails the next `fail`. */
class FlakyRenewals extends InMemoryConsul {
  fail = 0;
  readonly renewedAt: number[] = [];
  constructor(private readonly virtualClock: VirtualClock) {
    super(virtualClock);
  }
  override async renewSession(sessionId: string): Promise<'renewed' | 'not-found'> {
    this.renewedAt.push(this.virtualClock.now());
    if (this.fail > 0) {
      this.fail -= 1;
      throw new Error('renewal lost');
    }
    return super.renewSession(sessionId);
  }
}

describe('a session renewal that fails', () => {
  let clock: VirtualClock;
  let consul: FlakyRenewals;
  let election: LeaderElection;

  beforeEach(() => {
    clock = new VirtualClock();
    consul = new FlakyRenewals(clock);
    election = new LeaderElection({
      key: 'spec/leader',
      instanceId: 'a',
      clock,
      consulPort: consul,
      logger: memoryLogger('a'),
      leaseDuration: 1_000,
      lockDelay: 1_000,
      sessionTtl: '20s',
      retry: { initialDelay: 100, maxDelay: 2_000 },
    });
  });
  afterEach(async () => {
    await Promise.race([election.stop(), clock.advance(10_000)]);
  });

  it('is retried after the retry delay, not half a session TTL later: Consul keeps a session only sessionTtl past its last renewal', async () => {
    election.start();
    consul.fail = 1;
    for (let waited = 0; consul.renewedAt.length < 2 && waited < 25_000; waited += 10)
      await clock.advance(10);
    const [failed, retried] = consul.renewedAt;
    expect(retried - failed).toBeLessThanOrEqual(1_000);
  });
});
