// Issue 9, defect 3: the release at stop() is conditioned on the ModifyIndex of the leader's own last
// write. When the key changed since (the answer to its successor-list rewrite lost, or an operator's
// write keeping its session), Consul refuses the release, the session is destroyed, and the successor
// waits out lock-delay and the lease instead of taking over within milliseconds.
import type { LeaderElection } from '../../../../lib/election';
import { putWithHolderSession, readKeyEntry } from '../../../support/consul-operator';
import { ElectionRequests } from '../../../../harness/election-requests';
import {
  pollUntil,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { startHttpFaultProxy } from '../../../../harness/http-fault-proxy';

/** A graceful handoff takes milliseconds; lock-delay + lease is 1200 ms at the test timings. */
const HANDOFF_BOUND_MS = 300;

/** Ms from `stop()` returning to the first of `successors` leading (negative: it led before). */
async function handoffAfterStop(
  leader: LeaderElection,
  successors: readonly LeaderElection[],
): Promise<number> {
  let ledAt: number | null = null;
  const led = Promise.race(
    successors.map((s) => waitForState(s, (state) => state.role === 'leader', 10_000)),
  ).then(() => (ledAt = performance.now()));
  await leader.stop();
  const stoppedAt = performance.now();
  await led;
  return Math.round(ledAt! - stoppedAt);
}

describe('a graceful stop after the key changed under the leader (issue 9, defect 3)', () => {
  const consul = useRealConsul();

  it('hands over within milliseconds when the answer to its successor-list rewrite was lost', async () => {
    const key = uniqueKey('stop-lost-rewrite');
    const proxy = await startHttpFaultProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    const leader = consul.candidate(key, 'leader', {}, proxy);
    const first = consul.candidate(key, 'first');
    leader.start();
    await waitForState(leader, (s) => s.role === 'leader');
    first.start();
    await waitUntilNamedSuccessor(consul.agent, key, 'first');

    // A new instance joins (a rolling deploy): Consul applies the leader's rewrite, the answer is lost.
    proxy.inject(ElectionRequests.rewrite, { kind: 'drop' });
    const joiner = consul.candidate(key, 'joiner');
    joiner.start();
    await waitUntilNamedSuccessor(consul.agent, key, 'joiner');
    expect(proxy.count(ElectionRequests.rewrite)).toBeGreaterThan(0);

    const handoffMs = await handoffAfterStop(leader, [first, joiner]);
    expect(handoffMs).toBeLessThan(HANDOFF_BOUND_MS);
  });

  it("hands over within milliseconds after an operator rewrote the key's value under the leader's session", async () => {
    const key = uniqueKey('stop-operator-write');
    const leader = consul.candidate(key, 'leader');
    const next = consul.candidate(key, 'next');
    leader.start();
    await waitForState(leader, (s) => s.role === 'leader');
    next.start();
    await waitUntilNamedSuccessor(consul.agent, key, 'next');

    const held = await readKeyEntry(consul.agent, key);
    // Consul skips a write that changes nothing: the operator edits the value.
    const edited = { ...JSON.parse(held!.value!), note: 'edited by an operator' };
    await putWithHolderSession(consul.agent, key, held!.session!, JSON.stringify(edited));
    await pollUntil(
      'the operator write to land',
      async () =>
        (await readKeyEntry(consul.agent, key))!.modifyIndex > held!.modifyIndex || undefined,
    );

    const handoffMs = await handoffAfterStop(leader, [next]);
    expect(handoffMs).toBeLessThan(HANDOFF_BOUND_MS);
  });
});
