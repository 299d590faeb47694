// Findings of the adversarial review of issue 9's fixes where Consul's own behaviour is the point:
// an operator's plain PUT (a `consul kv import` of an earlier export) of a key just deleted creates
// a free key with no session, LockIndex 0 and no lock-delay; if its value carries the "released"
// marker, a follower takes it for the claim "nobody before me can still act" and acts at once,
// while the leader cut off from Consul may still act for up to D.
import { startTcpProxy } from '../../../harness';
import { deleteKey, plainPut, readKeyEntry } from '../../support/consul-operator';
import { pollUntil, uniqueKey, waitForState } from '../../support/election-kit';
import { useRealConsul } from '../../support/election-fixture';
import { LeaderSampler } from '../../support/leader-sampler';
import { instanceIdInSlot } from '../../support/succession-slot';

/** D = 2 s: room to see an overlap, well inside a test's time. */
const D_MS = 2_000;
const TIMINGS = { leaseDuration: D_MS, lockDelay: D_MS };

describe('review findings against a real agent', () => {
  const consul = useRealConsul();

  it('a "released" marker an operator imported into a deleted key does not let a follower act while the cut-off leader may', async () => {
    const key = uniqueKey('imported-marker');
    const proxy = await startTcpProxy(consul.agent);
    consul.afterThisTest(() => proxy.close());
    const x = consul.candidate(key, 'x', TIMINGS, { host: '127.0.0.1', port: proxy.port });
    // Y's slot for an absent key comes four succession steps late: the import lands before it tries.
    const y = consul.candidate(key, instanceIdInSlot('y', 4), TIMINGS);
    x.start();
    await waitForState(x, (s) => s.role === 'leader');
    y.start();
    await pollUntil('Y to see X lead', () => y.state.leader?.instanceId === 'x' || undefined);
    // Cut X right after a confirmation, so that it may act for almost all of D after the cut.
    const before = x.stepDownDeadline;
    await waitForState(x, (s) => s.stepDownDeadline !== null && s.stepDownDeadline !== before);
    const xDeadline = x.stepDownDeadline!;
    const sampler = new LeaderSampler([x, y]);
    consul.afterThisTest(() => sampler.stop());
    proxy.partition();
    const cutAt = performance.now();
    // The operator deletes the key and imports an earlier export of it: a value some holder wrote
    // when it released the key with the marker.
    await deleteKey(consul.agent, key);
    await plainPut(
      consul.agent,
      key,
      JSON.stringify({
        instanceId: 'old',
        metadata: {},
        since: '2026-01-01T00:00:00.000Z',
        releasedAt: '2026-01-01T00:01:00.000Z',
        leaseMs: D_MS,
      }),
    );
    // What Consul makes of it: a free key, LockIndex 0 (no lock was ever taken on it).
    expect(await readKeyEntry(consul.agent, key)).toMatchObject({ lockIndex: 0, session: null });
    await pollUntil('Y to lead', () => y.isLeader() || undefined, 15_000);
    await pollUntil('X to step down', () => x.state.role === 'follower' || undefined, 5_000);
    sampler.sample();
    sampler.stop();
    const [first] = sampler.doubles;
    const report = first
      ? `${sampler.doubles.length} samples with two leaders, the first at +${Math.round(first.at - cutAt)} ms after the cut; X could act until +${Math.round(xDeadline - cutAt)} ms`
      : 'none';
    expect(report).toBe('none');
  });
});
