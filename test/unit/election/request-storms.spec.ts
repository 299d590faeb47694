// Issue 18, defects 3 and 4: answers that come back at once, or failures that a success hides, must
// not turn a loop into a storm of requests. Each candidate reaches the Consul model through its own
// HTTP-level link (test/support/faulty-link.ts), which here rewrites `X-Consul-Index` the way a
// proxy can, or refuses only the blocking queries, or only the consistent reads.
import {
  blockingRead,
  confirmation,
  refusedWith,
  type FaultyLink,
  type SentRequest,
} from '../../support/faulty-link';
import type { ModelRequest } from '../../support/model-consul-client';
import { useModelElections } from '../../support/model-elections';
import { requestsPerSecondPerLoop } from '../../sim/load-bound';

/** Every answer of `name` comes back with this `X-Consul-Index` (undefined: no header at all). */
function indexRewrite(link: FaultyLink, name: string, index: number | undefined): void {
  link.rewrite = (request: ModelRequest, answer) =>
    request.name === name ? { ...answer, index } : answer;
}

describe('request storms (virtual clock, Consul model; issue 18, defects 3 and 4)', () => {
  const world = useModelElections();
  const { link, elect, until } = world;
  /** The load promise for the options of these specs (lease 1 s, initialDelay 100 ms). */
  const bound = (): number => requestsPerSecondPerLoop(world.options('any'));

  /** Requests of `which` on `on` over the next `seconds` virtual seconds, per second at worst. */
  async function worstSecond(
    on: FaultyLink,
    seconds: number,
    which: (sent: SentRequest) => boolean,
  ): Promise<number> {
    let worst = 0;
    for (let second = 0; second < seconds; second += 1) {
      const from = world.clock.now();
      await world.clock.advance(1_000);
      worst = Math.max(worst, on.sentBetween(from, from + 1_000, which));
    }
    return worst;
  }

  it.each([
    ['0', 0],
    ['missing', undefined],
  ])(
    'reads the held key no more often than the load promise when every answer’s X-Consul-Index is %s',
    async (_what, index) => {
      const leader = elect('a');
      leader.start();
      await until(() => leader.isLeader());
      const bLink = link();
      bLink.latencyMs = 1;
      indexRewrite(bLink, 'kv.get', index);
      const follower = elect('b', bLink);
      follower.start();
      await world.clock.advance(1_000);
      const worst = await worstSecond(bLink, 5, (sent) => sent.name === 'kv.get');
      expect(worst).toBeLessThanOrEqual(bound());
      expect(follower.isLeader()).toBe(false);
    },
  );

  it.each([
    ['0', 0],
    ['missing', undefined],
  ])(
    'reads the candidates no more often than the load promise when every answer’s X-Consul-Index is %s',
    async (_what, index) => {
      const aLink = link();
      aLink.latencyMs = 1;
      indexRewrite(aLink, 'health.service', index);
      const leader = elect('a', aLink);
      leader.start();
      await until(() => leader.isLeader());
      const worst = await worstSecond(aLink, 5, (sent) => sent.name === 'health.service');
      expect(worst).toBeLessThanOrEqual(bound());
      expect(leader.isLeader()).toBe(true);
    },
  );

  it('backs its key watch off when only blocking reads fail: the read without an index that succeeds in between resets nothing', async () => {
    const leader = elect('a');
    leader.start();
    await until(() => leader.isLeader());
    const bLink = link();
    bLink.latencyMs = 1;
    bLink.fate = (request) => (blockingRead(request) ? refusedWith(500) : null);
    const follower = elect('b', bLink);
    follower.start();
    // A backoff kept at its shortest (the 250 ms retry floor) makes a cycle of two reads (one at
    // index 0, one refused blocking read) every 250 ms: 160 in 20 s. Grown towards retry.maxDelay
    // (2 s, full jitter: about 1 s a cycle on average), about 40.
    await world.clock.advance(10_000);
    const from = world.clock.now();
    await world.clock.advance(20_000);
    const reads = bLink.sentBetween(from, from + 20_000, (sent) => sent.name === 'kv.get');
    expect(reads).toBeLessThanOrEqual(80);
  });

  it('backs the hold’s confirmation off, up to renewInterval, while consistent reads answer 500', async () => {
    // The jitter's draws decide the count; each draw at its median makes it the same every run
    // (with Math.random, 11 to 14 were seen, and a bound of 12 failed a clean-clone CI run). Set
    // before the election exists: its backoffs keep the function they were given.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const aLink = link();
      aLink.latencyMs = 1;
      const leader = elect('a', aLink, {
        leaseDuration: '30s',
        lockDelay: '30s',
        retry: { initialDelay: '10ms', maxDelay: '2s' },
      });
      leader.start();
      await until(() => leader.isLeader(), 60_000);
      aLink.fate = (request) => (confirmation(request) ? refusedWith(500) : null);
      const from = world.clock.now();
      await world.clock.advance(25_000);
      const confirmations = aLink.sentBetween(from, from + 25_000, confirmation);
      // Delays from a 10 ms initial delay, doubling up to renewInterval (15 s), half of each: six
      // under the 250 ms floor (375 ms each), then 320, 640, 1,280, 2,560, 5,120 and 7,500 ms —
      // 11 tries in these 25 s, not one per 10 ms (2,500).
      expect(confirmations).toBeLessThanOrEqual(11);
    } finally {
      random.mockRestore();
    }
  });
});
