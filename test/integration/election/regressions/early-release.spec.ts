// Issue 9, defect 1: a holder that took over a key which was not released explicitly must wait out
// the previous holder's lease before it acts. If it lets go before then (resign, stop), its release
// must not tell the next candidate "nobody before me can still act": the partitioned leader may.
import type { LeaderElection } from '../../../../lib/election';
import { startTcpProxy } from '../../../support';
import { deleteKey } from '../../../support/consul-operator';
import {
  pollUntil,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { LeaderSampler } from '../../../support/leader-sampler';
import { instanceIdInSlot } from '../../../support/succession-slot';

/** D = 2 s, as in the issue: room to see the overlap, well inside a test's time. */
const TIMINGS = { leaseDuration: '2s', lockDelay: '2s' };

describe('a holder that lets go before its act time (issue 9, defect 1)', () => {
  const consul = useRealConsul();

  /**
   * X leads through a TCP proxy and is cut off right after a confirmation; the key is deleted; Y (first
   * in line on an absent key) acquires it and, before it may act, `letGo`es of it; Z must not lead
   * while X may still act. Returns what the sampler saw, relative to the cut.
   */
  async function cutLeaderThenEarlyRelease(
    name: string,
    letGo: (y: LeaderElection) => Promise<void>,
  ): Promise<{ report: string; zLedAfterX: boolean | null }> {
    const key = uniqueKey(name);
    const proxy = await startTcpProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    const x = consul.candidate(key, 'x', TIMINGS, { host: '127.0.0.1', port: proxy.port });
    // Y tries an absent key at once; Z only 4 succession steps later, so Y is the one that takes it.
    const y = consul.candidate(key, instanceIdInSlot('y', 0), TIMINGS);
    const z = consul.candidate(key, instanceIdInSlot('z', 4), TIMINGS);
    x.start();
    await waitForState(x, (s) => s.role === 'leader');
    y.start();
    z.start();
    await pollUntil(
      'Y and Z to see X lead',
      () => [y, z].every((e) => e.state.leader?.instanceId === 'x') || undefined,
    );

    let xDeadline = x.stepDownDeadline ?? 0;
    x.state$.subscribe((s) => {
      if (s.stepDownDeadline !== null) xDeadline = s.stepDownDeadline;
    });
    // Cut X off just after a confirmation: it may then act for almost all of D after the cut.
    const before = x.stepDownDeadline;
    await waitForState(x, (s) => s.stepDownDeadline !== null && s.stepDownDeadline !== before);
    const sampler = new LeaderSampler([x, y, z]);
    consul.afterThisTest(() => sampler.stop());
    proxy.partition();
    const cutAt = performance.now();
    await deleteKey(consul.agent, key);

    await pollUntil(
      'Y to acquire the absent key',
      () => y.stepDownDeadline !== null || undefined,
      5_000,
    );
    // Let Y's first rewrite of the successor list land, so that its release is not refused for a stale
    // index (defect 3, which would hide this one behind a lock-delay).
    await waitUntilNamedSuccessor(consul.agent, key, z.instanceId);
    expect(y.state.term).toBeNull();
    await letGo(y);

    // Past X's deadline someone else may lead; wait for it, then for X's deadline to be behind us.
    await pollUntil('Y or Z to lead', () => [y, z].find((e) => e.isLeader()), 15_000);
    await pollUntil('X to step down', () => x.state.role === 'follower' || undefined, 5_000);
    sampler.sample();
    sampler.stop();

    const rel = (t: number): string => `+${Math.round(t - cutAt)} ms`;
    const [first] = sampler.doubles;
    const report = first
      ? `${sampler.doubles.length} samples with two leaders, the first at ${rel(first.at)} after the cut ` +
        `(${first.leaders.join(' and ')}); X could act until ${rel(xDeadline)}`
      : 'none';
    const zFirst = sampler.firstLed.get(z.instanceId);
    return { report, zLedAfterX: zFirst === undefined ? null : zFirst >= xDeadline };
  }

  it('a holder that resigns before its act time does not let the next candidate lead while the cut-off leader may still act', async () => {
    const outcome = await cutLeaderThenEarlyRelease('early-resign', (y) => y.resign());
    expect(outcome.report).toBe('none');
    expect(outcome.zLedAfterX).not.toBe(false);
  });

  it('a holder stopped before its act time does not let the next candidate lead while the cut-off leader may still act', async () => {
    const outcome = await cutLeaderThenEarlyRelease('early-stop', (y) => y.stop());
    expect(outcome.report).toBe('none');
    expect(outcome.zLedAfterX).not.toBe(false);
  });
});
