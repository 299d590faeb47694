// Writes whose answer comes after requestTimeout (simulator seeds 14299 and 18219), on a real agent:
// the HTTP fault proxy forwards the request (Consul carries it out or refuses it) and holds its
// answer back past the client's timeout, as a slow Raft commit does. The virtual-clock specs of the
// same rules are in test/unit/election/unknown-outcomes.spec.ts.
import { ElectionRequests } from '../../../../harness/election-requests';
import { startHttpFaultProxy } from '../../../../harness/http-fault-proxy';
import { destroySession, readLeaderValue } from '../../../support/consul-operator';
import { useRealConsul } from '../../../support/election-fixture';
import { pollUntil, uniqueKey } from '../../../support/election-kit';

/** Past requestTimeout (200 ms at the test timings). */
const ANSWER_DELAY_MS = 1_000;

describe('writes whose answer comes after requestTimeout (real Consul)', () => {
  const consul = useRealConsul();

  /** The id of the session a candidate opened (named `<key>#<instanceId>`), once it exists. */
  async function sessionOf(key: string, instanceId: string): Promise<string | undefined> {
    const response = await fetch(`${consul.agent.address}/v1/session/list`);
    const sessions = (await response.json()) as Array<{ ID: string; Name: string }>;
    return sessions.find((session) => session.Name === `${key}#${instanceId}`)?.ID;
  }

  it('a follower whose session an operator destroyed learns it from a renewal after an acquire with no answer, not at its renewal 30 s later', async () => {
    const key = uniqueKey('unanswered-acquire');
    const proxy = await startHttpFaultProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    // Renewed every 30 s: what b learns only at its scheduled renewal, it learns too late here.
    const options = { sessionTtl: '60s' };
    const a = consul.candidate(key, 'a', options);
    a.start();
    await pollUntil('a leads', () => a.isLeader() || undefined, 10_000);
    const b = consul.candidate(key, 'b', options, proxy);
    b.start();
    const session = await pollUntil('b has a session', () => sessionOf(key, 'b'), 10_000);
    await destroySession(consul.agent, session);
    // Consul refuses b's acquires (invalid session), and the refusal comes after b gave up.
    proxy.inject(ElectionRequests.acquire, { kind: 'hold', ms: ANSWER_DELAY_MS });
    const stoppedAt = performance.now();
    await a.stop();
    await pollUntil('b leads', () => b.isLeader() || undefined, 40_000);
    // A renewal (answered at once: no commit) after the first acquire without an answer, a new
    // session, an acquire that goes through unanswered, its adoption and D: a few seconds.
    expect(performance.now() - stoppedAt).toBeLessThan(10_000);
  });

  it('a leader whose rewrite of the successors was answered too late still names its successor in the value it releases', async () => {
    const key = uniqueKey('late-rewrite');
    const proxy = await startHttpFaultProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    // 'b' queues 6 steps behind an empty list (the hash of its id): named, it tries at once.
    const options = { successionStep: '1s' };
    const a = consul.candidate(key, 'a', options, proxy);
    a.start();
    await pollUntil('a leads', () => a.isLeader() || undefined, 10_000);
    proxy.inject(ElectionRequests.rewrite, { kind: 'hold', ms: ANSWER_DELAY_MS });
    const b = consul.candidate(key, 'b', options);
    b.start();
    await pollUntil(
      'the key names b',
      async () =>
        (await readLeaderValue(consul.agent, key))?.successors?.includes('b') || undefined,
      10_000,
    );
    // Until the held answer has gone on to a, which had given up on it long before.
    await pollUntil(
      'the late answer passed on',
      () =>
        proxy.seen.some(
          (request) =>
            request.fate === 'held' && performance.now() > request.at + ANSWER_DELAY_MS + 100,
        ) || undefined,
      10_000,
    );
    proxy.clearFaults();
    const resignedAt = performance.now();
    await a.resign({ pause: '1h' });
    await pollUntil('b leads', () => b.isLeader() || undefined, 15_000);
    // The release's marker lets the named successor take the key at once: well under one step.
    expect(performance.now() - resignedAt).toBeLessThan(500);
  });
});
