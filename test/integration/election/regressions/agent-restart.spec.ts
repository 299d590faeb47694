// Issue 9, defect 4: after the local dev agent restarts (and forgets its state), every key watch
// resumed with the old index, which is ahead of the new agent's; Consul holds such a blocking query for
// the whole watchWait (60 s by default), and meanwhile every candidate believes the dead session holds
// the key. The project's own restart test passes only because it sets watchWait to 5 s.
import type { ElectionOptions } from '../../../../lib/election';
import { advanceIndex } from '../../../support/consul-operator';
import { FAST_TIMINGS, uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';

/** The test timings, but with the default watchWait (60 s): the setting users run with. */
const DEFAULT_WATCH_WAIT: Partial<ElectionOptions> = { ...FAST_TIMINGS, watchWait: undefined };

/** Detection (~1 s at the test timings) + D (600 ms) + a few seconds. */
const REELECTION_BOUND_MS = 15_000;

describe('an election after the dev agent restarts (issue 9, defect 4)', () => {
  const consul = useRealConsul();

  it('has a leader again within seconds with the default watchWait, not after a whole blocking wait', async () => {
    // An agent that has lived a while: its index is well ahead of a freshly started one's.
    await advanceIndex(consul.agent, 200);
    const key = uniqueKey('restart-default-wait');
    const elections = [
      consul.candidate(key, 'a', DEFAULT_WATCH_WAIT),
      consul.candidate(key, 'b', DEFAULT_WATCH_WAIT),
    ];
    expect(elections[0].options.watchWaitMs).toBe(60_000);
    elections.forEach((e) => e.start());
    await Promise.race(elections.map((e) => waitForState(e, (s) => s.role === 'leader')));

    const restartBegan = new Date();
    await consul.agent.restart();
    const restartedAt = performance.now();
    const ledAgainAt = await Promise.race(
      elections.map((e) =>
        waitForState(
          e,
          (s) => s.role === 'leader' && s.term!.startedAt >= restartBegan,
          REELECTION_BOUND_MS + 5_000,
        ).then(() => performance.now()),
      ),
    ).catch(() => null);
    const leaderBackAfterMs =
      ledAgainAt === null ? 'none within 20 s' : Math.round(ledAgainAt - restartedAt);
    expect({ leaderBackAfterMs }).toEqual({ leaderBackAfterMs: expect.any(Number) });
    expect(leaderBackAfterMs).toBeLessThan(REELECTION_BOUND_MS);
  });
});
