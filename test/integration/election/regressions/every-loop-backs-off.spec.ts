// Issue 9, defect 7 and its acceptance: "No loop in lib/election/ sends more than a few requests per
// second to Consul for any error answer." A leader whose every request is then refused: each kind of
// request it keeps sending must slow down to a few a second.
import { ElectionRequests } from '../../../../harness/election-requests';
import { pollUntil, uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { startHttpFaultProxy, type SeenRequest } from '../../../../harness/http-fault-proxy';

const RETRY = { retry: { initialDelay: '50ms', maxDelay: '1s' } };
const MAX_PER_SECOND = 5;
/** Counting starts this long after the fault, once backoffs have had time to grow... */
const SETTLE_MS = 2_000;
/** ...and lasts this long. */
const WINDOW_MS = 3_000;

const BODIES: Record<number, string> = {
  403: 'Permission denied',
  429: 'Too Many Requests',
};

/** `PUT /v1/session/renew`, `PUT /v1/agent/check/pass`, `PUT /v1/txn`, ...: ids left out. */
function requestKind(request: SeenRequest): string {
  const segments = request.path.split('/').slice(1);
  const kept = segments[1] === 'kv' ? 2 : segments[1] === 'agent' ? 4 : 3;
  return `${request.method} /${segments.slice(0, kept).join('/')}`;
}

describe('a candidate whose every request Consul refuses (issue 9, defect 7)', () => {
  const consul = useRealConsul();

  it.each([403, 429])(
    'sends no kind of request more than a few times a second when every answer is %i',
    async (status) => {
      const proxy = await startHttpFaultProxy(consul.agent);
      consul.afterThisTest(() => proxy.close());
      const key = uniqueKey(`refused-${status}`);
      // A leader runs every loop there is: key watch, candidate watch, confirmations, check, renewals.
      const leader = consul.candidate(key, 'leader', RETRY, proxy);
      leader.start();
      await waitForState(leader, (s) => s.role === 'leader');
      expect(proxy.count(ElectionRequests.confirm)).toBeGreaterThan(0);

      proxy.inject({}, { kind: 'answer', status, body: BODIES[status] });
      const from = performance.now() + SETTLE_MS;
      await pollUntil(
        'the counting window to end',
        () => performance.now() >= from + WINDOW_MS || undefined,
        SETTLE_MS + WINDOW_MS + 1_000,
      );
      const perKind = new Map<string, number>();
      for (const request of proxy.seen) {
        if (request.at < from || request.at >= from + WINDOW_MS) continue;
        perKind.set(requestKind(request), (perKind.get(requestKind(request)) ?? 0) + 1);
      }
      const rates = Object.fromEntries(
        [...perKind].map(([kind, n]) => [kind, Math.round((n / WINDOW_MS) * 1000 * 10) / 10]),
      );
      const tooFast = Object.entries(rates).filter(([, rate]) => rate >= MAX_PER_SECOND);
      expect({ perSecond: rates, tooFast }).toEqual({ perSecond: rates, tooFast: [] });
    },
  );
});
