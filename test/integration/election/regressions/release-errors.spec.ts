// Issue 9, defect 7: a release answered 403 (token revoked) or 429 (Consul's rate limiter) ended the
// retry loop, which then found the session still on the key and released again, one request per
// round trip, for ever. Every loop that talks to Consul needs backoff; 429 and 503 are transient.
import type { LeaderElection } from '../../../../lib/election';
import { ElectionRequests } from '../../../../harness/election-requests';
import { pollUntil, uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { startHttpFaultProxy, type HttpFaultProxy } from '../../../../harness/http-fault-proxy';

/** Backoff from 50 ms up to 1 s: a well-behaved loop then sends one or two requests a second. */
const RETRY = { retry: { initialDelay: '50ms', maxDelay: '1s' } };
const MAX_RELEASES_PER_SECOND = 5;

const ANSWERS: Record<number, string> = {
  403: 'Permission denied',
  429: 'Too Many Requests',
};

describe('a release that Consul refuses (issue 9, defect 7)', () => {
  const consul = useRealConsul();

  /** A leader behind the fault proxy whose releases are all answered `status`. */
  async function leaderWhoseReleasesFail(
    name: string,
    status: number,
  ): Promise<{ leader: LeaderElection; proxy: HttpFaultProxy }> {
    const proxy = await startHttpFaultProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    const leader = consul.candidate(uniqueKey(name), 'leader', RETRY, proxy);
    leader.start();
    await waitForState(leader, (s) => s.role === 'leader');
    proxy.inject(ElectionRequests.release, { kind: 'answer', status, body: ANSWERS[status] });
    return { leader, proxy };
  }

  it.each([403, 429])(
    'after resign(), a release answered %i is retried at most a few times a second',
    async (status) => {
      const { leader, proxy } = await leaderWhoseReleasesFail(`release-${status}`, status);
      // Not awaited: resign() waits for a release that Consul keeps refusing.
      void leader.resign();
      const resignedAt = performance.now();
      // Count over whole seconds, after the backoff has had a second to grow.
      const from = resignedAt + 1_000;
      await pollUntil(
        'three seconds of releases',
        () => proxy.perSecond(ElectionRequests.release, from, 3).length === 3 || undefined,
        6_000,
      );
      const perSecond = proxy.perSecond(ElectionRequests.release, from, 3);
      // On average over the three seconds: full jitter may put a few tries into one second.
      const average = perSecond.reduce((sum, n) => sum + n, 0) / perSecond.length;
      expect({
        releasesPerSecond: perSecond,
        averageBelowBound: average < MAX_RELEASES_PER_SECOND,
      }).toEqual({
        releasesPerSecond: perSecond,
        averageBelowBound: true,
      });
    },
  );

  it("reports a release answered 429 (Consul's rate limiter) as a transient problem", async () => {
    const { leader } = await leaderWhoseReleasesFail('release-429-transient', 429);
    void leader.resign();
    const state = await waitForState(
      leader,
      (s) => s.problem?.status === 429,
      3_000,
      'a 429 problem',
    ).catch(() => leader.state);
    expect({ status: state.problem?.status, consulReachable: state.consulReachable }).toEqual({
      status: 429,
      consulReachable: false,
    });
  });
});
