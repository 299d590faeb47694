// Candidates without a local agent (Consul Dataplane on Kubernetes, or clients sent to servers by a
// load balancer): every connection may land on another server, so a check registered through one
// agent is unknown to the next. The election must notice it, say what to do, and keep electing on
// the session TTL alone.
import type { LeaderElection } from '../../../lib/election';
import { startConsulCluster, type ConsulCluster } from '../../../harness';
import {
  LeadershipRecorder,
  createElection,
  memoryLogger,
  pollUntil,
  uniqueKey,
} from '../../support/election-kit';
import { startTcpProxy } from '../../../harness';
import {
  startRoundRobinHttpProxy,
  startRoundRobinProxy,
  type RoundRobinProxy,
} from '../../../harness/round-robin-proxy';

describe('candidates that reach a 3-server cluster through a round-robin load balancer', () => {
  let cluster: ConsulCluster;
  let proxy: RoundRobinProxy;
  let perRequest: RoundRobinProxy;
  const running: LeaderElection[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster();
    await cluster.waitForRaftLeader();
    proxy = await startRoundRobinProxy(cluster.servers);
    perRequest = await startRoundRobinHttpProxy(cluster.servers);
  });
  afterAll(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    await proxy?.close();
    await perRequest?.close();
    await cluster?.stop();
  });

  it('elect one leader, say that there is no local agent, keep one term, and fail over', async () => {
    const key = uniqueKey('no-local-agent');
    const lines: string[] = [];
    const elections = ['lb-1', 'lb-2', 'lb-3'].map((id) =>
      createElection({ host: '127.0.0.1', port: proxy.port }, key, id, {
        logger: memoryLogger(id, lines),
      }),
    );
    running.push(...elections);
    const recorder = new LeadershipRecorder();
    elections.forEach((election) => recorder.watch(election));
    elections.forEach((election) => election.start());

    try {
      // The candidates whose requests reach another server than their check's find out, and say
      // so in their state with what to do (one whose requests all happen to stay on one server
      // keeps its check, which then works).
      const told = await pollUntil(
        'a candidate to tell that there is no local agent',
        () => {
          const found = elections.filter((e) => e.state.problem?.kind === 'no-local-agent');
          return found.length > 0 ? found : undefined;
        },
        20_000,
      );
      for (const election of told) {
        expect(election.state.consulReachable).toBe(true);
        expect(election.state.problem?.message).toMatch(/no local Consul agent/);
        expect(election.state.problem?.message).toMatch(/session TTL/);
      }
      expect(lines.some((line) => / warn .*no local Consul agent/.test(line))).toBe(true);

      // Then one leader keeps the key: its term lasts several check periods (ttl 1s) with nobody
      // else leading, so check updates that reach the wrong server no longer unseat anyone.
      const leader = await pollUntil(
        'a term that lasts 3 s',
        () => {
          const leaders = elections.filter((e) => e.isLeader());
          const current = recorder.intervals.at(-1);
          return leaders.length === 1 &&
            current?.end === null &&
            performance.now() - current.start > 3_000
            ? leaders[0]
            : undefined;
        },
        30_000,
      );

      // Failover: the leader leaves; another candidate leads.
      await leader.stop();
      const next = await pollUntil(
        'the next leader',
        () => elections.find((e) => e !== leader && e.isLeader()),
        20_000,
      );
      expect(next.instanceId).not.toBe(leader.instanceId);
      expect(recorder.overlaps()).toEqual([]);
      expect(proxy.connections.every((count) => count > 0)).toBe(true);
      console.log(
        `no local agent: ${told.length}/3 candidates told; ${recorder.intervals.length} terms; ` +
          `connections per server ${proxy.connections.join('/')}`,
      );
    } catch (error) {
      console.log(lines.slice(-60).join('\n'));
      throw error;
    }
  });

  it('take over from a cut-off leader after its session TTL once every candidate has fallen back', async () => {
    const key = uniqueKey('no-local-agent-crash');
    const lines: string[] = [];
    // The leader reaches the balancer through a link the test cuts, as a crash would look to Consul.
    const link = await startTcpProxy({ host: '127.0.0.1', port: perRequest.port });
    const make = (id: string, port: number) =>
      createElection({ host: '127.0.0.1', port }, key, id, { logger: memoryLogger(id, lines) });
    const doomed = make('doomed', link.port);
    const others = [make('heir-1', perRequest.port), make('heir-2', perRequest.port)];
    const elections = [doomed, ...others];
    running.push(...elections);
    const recorder = new LeadershipRecorder();
    elections.forEach((election) => recorder.watch(election));
    try {
      doomed.start();
      await pollUntil('doomed to lead', () => doomed.isLeader() || undefined, 20_000);
      others.forEach((election) => election.start());
      // With each request on the next server, every candidate finds out at once and falls back.
      await pollUntil(
        'every candidate to fall back',
        () => elections.every((e) => e.state.problem?.kind === 'no-local-agent') || undefined,
        20_000,
      );
      const leader = await pollUntil(
        'a leader after the fallback',
        () => elections.find((e) => e.isLeader()),
        20_000,
      );
      if (leader !== doomed) {
        // The fallback replaced the leader's session; make the one behind the cut-able link lead.
        await leader.resign({ pause: '1m' });
        await pollUntil('doomed to lead again', () => doomed.isLeader() || undefined, 20_000);
      }

      link.partition();
      const cutAt = performance.now();
      const heir = await pollUntil(
        'an heir to lead',
        () => others.find((e) => e.isLeader()),
        20_000,
      );
      const tookMs = performance.now() - cutAt;
      expect(doomed.isLeader()).toBe(false);
      expect(recorder.overlaps()).toEqual([]);
      // No check to turn critical: the session TTL (2 s, FAST_TIMINGS) decides, within 2 × TTL
      // plus lock-delay and the new holder's wait for the old lease.
      expect(tookMs).toBeLessThan(2 * 2_000 + 600 + 600 + 2_000);
      console.log(
        `no local agent: ${heir.instanceId} led ${Math.round(tookMs)} ms after the leader was cut off`,
      );
    } catch (error) {
      console.log(lines.slice(-60).join('\n'));
      throw error;
    } finally {
      await link.close();
    }
  });
});
