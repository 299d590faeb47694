// Issue 9, defect 6: when Consul applies an acquire but its answer arrives after requestTimeout, the
// acquirer found its own session on the key and handed the key back with a marker; the next in line
// acquired at once and the cycle repeated: no leader, and two Raft writes per cycle on a slow cluster.
import { ElectionRequests } from '../../../../harness/election-requests';
import { pollUntil, uniqueKey } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { startHttpFaultProxy } from '../../../../harness/http-fault-proxy';

/** Past requestTimeout (200 ms at the test timings). */
const ANSWER_DELAY_MS = 1_000;
const WINDOW_MS = 5_000;

describe('acquire answers that arrive after the request timed out (issue 9, defect 6)', () => {
  const consul = useRealConsul();

  it('a leader emerges within seconds and the key is written only a few times', async () => {
    const key = uniqueKey('late-acquire');
    const proxy = await startHttpFaultProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    // Consul applies every acquire; its answer comes back only after the client gave up.
    proxy.inject(ElectionRequests.acquire, { kind: 'hold', ms: ANSWER_DELAY_MS });
    const elections = ['a', 'b', 'c'].map((id) => consul.candidate(key, id, {}, proxy));
    const startedAt = performance.now();
    elections.forEach((e) => e.start());

    const leader = await pollUntil(
      'a leader',
      () => elections.find((e) => e.isLeader()),
      WINDOW_MS,
    ).catch(() => null);
    const ledAfterMs = leader ? Math.round(performance.now() - startedAt) : null;
    await pollUntil(
      'the end of the window',
      () => performance.now() - startedAt >= WINDOW_MS || undefined,
      WINDOW_MS + 1_000,
    );
    const window = [startedAt, startedAt + WINDOW_MS] as const;
    const writes = {
      acquires: proxy.count(ElectionRequests.acquire, ...window),
      releases: proxy.count(ElectionRequests.release, ...window),
      allKeyWrites: proxy.count(ElectionRequests.keyWrite, ...window),
    };
    expect({ ledAfterMs, writes }).toEqual({ ledAfterMs: expect.any(Number), writes });
    // One acquire, and a rewrite of the successor list per candidate that joins: a handful.
    expect(writes.allKeyWrites).toBeLessThan(10);
  });
});
