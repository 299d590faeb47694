// Issue 18, defects 3 and 4, against a real agent: a proxy between the candidates and Consul that
// rewrites `X-Consul-Index` to 0, drops it, or refuses the blocking queries (long polls) at once.
// The load promise (SAFETY.md, "Load"): no loop sends more than ⌈1000 / min(renewInterval, 250 ms)⌉
// requests in any second; here renewInterval is 300 ms, so 4 per loop.
import { ElectionRequests } from '../../../../harness/election-requests';
import { startHttpFaultProxy, type Fault } from '../../../../harness/http-fault-proxy';
import { pollUntil, uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { requestsPerSecondPerLoop } from '../../../sim/load-bound';
import { FAST_TIMINGS } from '../../../../harness/fast-timings';

/** Counting starts this long after the fault, once backoffs have had time to grow... */
const SETTLE_MS = 2_000;
/** ...and lasts this long. */
const WINDOW_MS = 3_000;

const KEY_READS = { method: 'GET', path: /^\/v1\/kv\// };
const CANDIDATE_READS = { method: 'GET', path: /^\/v1\/health\/service\// };

describe('answers a proxy rewrites or refuses (issue 18, defects 3 and 4; real agent)', () => {
  const consul = useRealConsul();
  const bound = requestsPerSecondPerLoop({ key: 'any', ...FAST_TIMINGS });

  it.each<[string, Fault]>([
    ['rewrites X-Consul-Index to 0', { kind: 'index', index: 0 }],
    ['drops X-Consul-Index', { kind: 'index', index: null }],
    ['refuses every blocking query with 500 at once', { kind: 'answer', status: 500 }],
  ])(
    'keeps the key watch and the candidates watch within the load promise when a proxy %s',
    async (what, fault) => {
      const proxy = await startHttpFaultProxy(consul.agent);
      consul.afterThisTest(() => proxy.close());
      const key = uniqueKey('answer-faults');
      const leader = consul.candidate(key, 'leader', {}, proxy);
      leader.start();
      await waitForState(leader, (s) => s.role === 'leader');
      const follower = consul.candidate(key, 'follower', {}, proxy);
      follower.start();
      expect(proxy.count(ElectionRequests.confirm)).toBeGreaterThan(0);

      const reads = fault.kind === 'index' ? {} : { query: { index: true as const } };
      proxy.inject({ ...KEY_READS, ...reads }, fault);
      proxy.inject({ ...CANDIDATE_READS, ...reads }, fault);
      const from = performance.now() + SETTLE_MS;
      await pollUntil(
        'the counting window to end',
        () => performance.now() >= from + WINDOW_MS || undefined,
        SETTLE_MS + WINDOW_MS + 1_000,
      );
      // Two key watches (leader and follower) and one candidates watch (the leader's).
      const worstSecond = (pattern: typeof KEY_READS, loops: number): number =>
        Math.max(...proxy.perSecond(pattern, from, WINDOW_MS / 1_000)) / loops;
      const rates = {
        keyReadsPerWatch: worstSecond(KEY_READS, 2),
        candidateReads: worstSecond(CANDIDATE_READS, 1),
      };
      const tooMany = Object.entries(rates).filter(([, rate]) => rate > bound);
      expect({ what, rates, bound, tooMany }).toEqual({ what, rates, bound, tooMany: [] });
      expect(leader.isLeader()).toBe(true);
    },
  );
});
