// Issue 9, defect 1: a holder that took over a key which was not released explicitly must wait out
// the previous holder's lease before it acts. If it lets go before then (resign, stop, a hand-back of
// an acquire whose answer was lost), its release must not tell the next candidate "nobody before me
// can still act": the partitioned leader may. Nor may a release while leader work still runs.
import type { LeaderElection } from '../../../../lib/election';
import { startTcpProxy } from '../../../../harness';
import { deleteKey, readKeyEntry } from '../../../support/consul-operator';
import { ElectionRequests } from '../../../../harness/election-requests';
import {
  pollUntil,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../../support/election-kit';
import { useRealConsul, type ConsulTarget } from '../../../support/election-fixture';
import { startHttpFaultProxy } from '../../../../harness/http-fault-proxy';
import { LeaderSampler } from '../../../support/leader-sampler';
import { instanceIdInSlot } from '../../../support/succession-slot';

/** D = 2 s, as in the issue: room to see the overlap, well inside a test's time. */
const D_MS = 2_000;
const TIMINGS = { leaseDuration: D_MS, lockDelay: D_MS };

describe('early releases (issue 9, defect 1)', () => {
  const consul = useRealConsul();

  describe('a holder that lets go before its act time', () => {
    interface CutOff {
      readonly key: string;
      readonly x: LeaderElection;
      readonly y: LeaderElection;
      readonly z: LeaderElection;
      /** Waits until Y or Z leads and X has stepped down; then sums up what the sampler saw. */
      outcome(): Promise<{ report: string; zLedAfterX: boolean | null }>;
    }

    /**
     * X leads through a TCP proxy and is cut off right after a confirmation, so that it may act for
     * almost all of D after the cut; then the key is deleted (no lock-delay for an absent key). Y is
     * first in line for the absent key, Z four succession steps later, so Y is the one that takes it.
     * `isLeader()` of all three is sampled every 2 ms from just before the cut.
     */
    async function cutOffLeaderThenDeleteKey(
      name: string,
      yTarget?: ConsulTarget,
    ): Promise<CutOff> {
      const key = uniqueKey(name);
      const proxy = await startTcpProxy(consul.agent);
      consul.afterThisTest(() => proxy.close());
      const x = consul.candidate(key, 'x', TIMINGS, { host: '127.0.0.1', port: proxy.port });
      const y = consul.candidate(key, instanceIdInSlot('y', 0), TIMINGS, yTarget);
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
      const before = x.stepDownDeadline;
      await waitForState(x, (s) => s.stepDownDeadline !== null && s.stepDownDeadline !== before);
      const sampler = new LeaderSampler([x, y, z]);
      consul.afterThisTest(() => sampler.stop());
      proxy.partition();
      const cutAt = performance.now();
      await deleteKey(consul.agent, key);

      return {
        key,
        x,
        y,
        z,
        async outcome() {
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
        },
      };
    }

    /** Waits until Y holds the key, and its first rewrite of the successor list has landed. */
    async function yHoldsTheKey({ key, y, z }: CutOff): Promise<void> {
      await pollUntil(
        'Y to acquire the absent key',
        () => y.stepDownDeadline !== null || undefined,
        5_000,
      );
      // Else its release could be refused for a stale index (defect 3), which would hide this defect
      // behind a lock-delay.
      await waitUntilNamedSuccessor(consul.agent, key, z.instanceId);
      expect(y.state.term).toBeNull();
    }

    it('a holder that resigns before its act time does not let the next candidate lead while the cut-off leader may still act', async () => {
      const cut = await cutOffLeaderThenDeleteKey('early-resign');
      await yHoldsTheKey(cut);
      await cut.y.resign();
      const outcome = await cut.outcome();
      expect(outcome.report).toBe('none');
      expect(outcome.zLedAfterX).not.toBe(false);
    });

    it('a holder stopped before its act time does not let the next candidate lead while the cut-off leader may still act', async () => {
      const cut = await cutOffLeaderThenDeleteKey('early-stop');
      await yHoldsTheKey(cut);
      await cut.y.stop();
      const outcome = await cut.outcome();
      expect(outcome.report).toBe('none');
      expect(outcome.zLedAfterX).not.toBe(false);
    });

    it('a holder whose acquire answer was lost does not let the next candidate lead while the cut-off leader may still act', async () => {
      const faults = await startHttpFaultProxy(consul.agent);
      consul.afterThisTest(() => faults.close());
      // Y's acquire reaches Consul, its answer never reaches Y.
      faults.inject(ElectionRequests.acquire, { kind: 'drop' });
      const cut = await cutOffLeaderThenDeleteKey('early-lost-answer', faults);
      await pollUntil(
        "Y's acquire to take the key",
        async () => (await readKeyEntry(consul.agent, cut.key))?.session != null || undefined,
        5_000,
      );
      const outcome = await cut.outcome();
      expect(outcome.report).toBe('none');
      expect(outcome.zLedAfterX).not.toBe(false);
    });
  });

  describe('a leader stopped while its work still runs', () => {
    it('releases without the "released" marker after drainTimeout, so its successor waits out the lease', async () => {
      const key = uniqueKey('undrained-stop');
      const timings = { drainTimeout: '200ms' };
      const leader = consul.candidate(key, 'leader', timings);
      const next = consul.candidate(key, 'next', timings);
      leader.start();
      await waitForState(leader, (s) => s.role === 'leader');
      next.start();
      await waitUntilNamedSuccessor(consul.agent, key, 'next');

      let nextLedAt: number | null = null;
      const nextLeads = waitForState(next, (s) => s.role === 'leader', 10_000).then(
        () => (nextLedAt = performance.now()),
      );
      // Leader work that ignores its aborted signal and never finishes.
      await leader.stop({ drain: () => new Promise(() => undefined) });
      const stoppedAt = performance.now();
      await nextLeads;
      const leaseMs = next.options.leaseDurationMs;
      // The release happens inside stop(): from it, the successor must wait D (minus what the
      // session destroy after it took, a few ms; 100 ms of room).
      expect(Math.round(nextLedAt! - stoppedAt)).toBeGreaterThanOrEqual(leaseMs - 100);
    });
  });
});
