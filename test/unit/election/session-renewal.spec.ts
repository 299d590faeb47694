// How a candidate keeps its session alive when a renewal fails (virtual clock, the Consul model
// behind a link whose renewals fail on demand). Found by the simulator: seeds 13856 and 16262.
import { LeaderElection } from '../../../lib/election';
import { ConsulModel } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import { Prng } from '../../support/prng';
import { VirtualClock } from '../../support/virtual-clock';
import { modelLink, type Link } from '../../support/virtual-elections';

describe('a session renewal that fails', () => {
  let clock: VirtualClock;
  let model: ConsulModel;
  let link: Link;
  let election: LeaderElection;

  beforeEach(() => {
    clock = new VirtualClock();
    const random = new Prng(1);
    model = new ConsulModel(clock, () => random.next());
    link = modelLink(model, clock);
    election = new LeaderElection({
      key: 'spec/leader',
      instanceId: 'a',
      clock,
      consulPort: link.port,
      logger: memoryLogger('a'),
      leaseDuration: 1_000,
      lockDelay: 1_000,
      sessionTtl: '20s',
      retry: { initialDelay: 100, maxDelay: 2_000 },
    });
  });
  afterEach(async () => {
    await Promise.race([election.stop(), clock.advance(10_000)]);
    model.dispose();
  });

  /** When each renewal was asked for. */
  const renewedAt = (): number[] =>
    link.calls.filter((call) => call.method === 'renewSession').map((call) => call.at);

  it('is retried after the retry delay, not half a session TTL later: Consul keeps a session only sessionTtl past its last renewal', async () => {
    election.start();
    // The first renewal is lost on its way.
    link.refuse.set('renewSession', () => {
      link.refuse.delete('renewSession');
      return new Error('renewal lost');
    });
    for (let waited = 0; renewedAt().length < 2 && waited < 25_000; waited += 10)
      await clock.advance(10);
    const [failed, retried] = renewedAt();
    expect(retried - failed).toBeLessThanOrEqual(1_000);
  });
});
