import type { LeaderElection } from '../../../lib/election';
import { startConsulCluster, type ConsulCluster } from '../../../harness';
import {
  LeadershipRecorder,
  createElection,
  memoryLogger,
  pollUntil,
  uniqueKey,
  waitForState,
} from '../../support/election-kit';

describe('an election on a 3-server Consul cluster', () => {
  let cluster: ConsulCluster;
  const running: LeaderElection[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster();
  });
  afterAll(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    await cluster?.stop();
  });

  it('survives the loss of the Raft leader together with the election leader on it: a survivor leads, with no overlap', async () => {
    const key = uniqueKey('cluster');
    const lines: string[] = [];
    const raftLeader = await cluster.waitForRaftLeader();
    const order = [raftLeader, ...[0, 1, 2].filter((i) => i !== raftLeader)];
    // Candidate i talks to server order[i]; the first one, on the Raft leader, is made to lead.
    const elections = order.map((server) =>
      createElection(cluster.servers[server], key, `on-server-${server}`, {
        // The cluster's own failure detection (serf) takes seconds; give requests room while Raft moves.
        requestTimeout: '300ms',
        leaseDuration: '1s',
        lockDelay: '1s',
        logger: memoryLogger(`on-server-${server}`, lines),
      }),
    );
    running.push(...elections);
    const recorder = new LeadershipRecorder();
    elections.forEach((election) => recorder.watch(election));
    const [doomed, ...survivors] = elections;
    doomed.start();
    await waitForState(doomed, (s) => s.role === 'leader', 20_000);
    survivors.forEach((election) => election.start());
    await pollUntil(
      'survivors to see the leader',
      () => survivors.every((e) => e.state.leader?.instanceId === doomed.instanceId) || undefined,
    );

    await cluster.killServer(raftLeader, 'SIGKILL');
    await waitForState(doomed, (s) => s.role === 'follower', 10_000, 'step-down').catch((error) => {
      // The election logs say which request answered what; a failure here is about safety.
      console.log(lines.join('\n'));
      throw error;
    });
    const successor = await pollUntil(
      'a survivor to lead',
      () => survivors.find((e) => e.isLeader()),
      60_000,
    );

    expect(recorder.overlaps()).toEqual([]);
    const [first, second] = recorder.intervals;
    expect(first.instanceId).toBe(doomed.instanceId);
    expect(second.instanceId).toBe(successor.instanceId);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(doomed.state.consulReachable).toBe(false);
  });
});
