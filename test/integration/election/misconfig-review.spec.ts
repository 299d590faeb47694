// Issue 21 item 1, adversarial review: what real Consul 1.8.7 answers in normal operation and in
// transient faults must never be taken for misconfiguration, which logs ERROR "not a Consul agent",
// turns health down, retries only every 30 s and, with failFast, fails the start. Each spec provokes
// one such fault on real agents and watches every problem the elections report.
//
// What 1.8.7 answered the election's requests in these faults (scratch probes, raw HTTP):
// - 2 of 3 servers killed: every server-bound request 500 "rpc error getting client: failed to get
//   conn: … connection refused" or a timeout; agent-only ones (service register, check pass) 200.
// - an agent restarting: ECONNREFUSED, then the dev agent's wiped state: renew 404 "Session id '…'
//   not found", txn 409 "invalid session", check pass 500 `CheckID "…" does not have associated TTL`.
// - session create bound to a critical check: 500 "Check '…' is in critical state"; to an unknown
//   one: 500 "Missing check '…' registration"; check register for an unknown service: 500
//   `ServiceID "…" does not exist`; deregister of an unknown service, destroy of an unknown session: 200.
import type { LeaderElection, LeadershipState } from '../../../lib/election';
import { startConsulCluster, type ConsulCluster } from '../../../harness';
import { consulRequest } from '../../../harness/consul-http';
import { createElection, memoryLogger, pollUntil, uniqueKey } from '../../support/election-kit';
import { useRealConsul } from '../../support/election-fixture';

/** Every problem kind an election reports, and its ERROR lines, from the moment it is watched. */
function watchProblems(election: LeaderElection, lines: string[]) {
  const kinds = new Set<string>();
  election.state$.subscribe((state: LeadershipState) => {
    if (state.problem) kinds.add(state.problem.kind);
  });
  return {
    kinds,
    errors: () => lines.filter((line) => line.startsWith(`${election.instanceId} error `)),
  };
}

/** How soon a candidate must lead again once Consul serves again: detection, lease, lock-delay, slack. */
const LEADS_AGAIN_WITHIN_MS = 15_000;

describe('a cluster without a Raft leader (3 real servers, 2 killed for 5 s)', () => {
  let cluster: ConsulCluster;
  const running: LeaderElection[] = [];

  beforeAll(async () => {
    cluster = await startConsulCluster();
  });
  afterAll(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    await cluster?.stop();
  });

  it('is transient, not misconfigured: the candidates report Consul unreachable and one leads again within seconds after it heals', async () => {
    const raftLeader = await cluster.waitForRaftLeader();
    const survivor = (raftLeader + 1) % 3;
    const others = [0, 1, 2].filter((i) => i !== survivor);
    const key = uniqueKey('no-raft-leader');
    const lines: string[] = [];
    const elections = ['a', 'b'].map((id) =>
      createElection(cluster.servers[survivor], key, id, {
        requestTimeout: '300ms',
        leaseDuration: '1s',
        lockDelay: '1s',
        logger: memoryLogger(id, lines),
      }),
    );
    running.push(...elections);
    const watched = elections.map((election) => watchProblems(election, lines));
    elections.forEach((election) => void election.start());
    await pollUntil('a leader', () => elections.find((e) => e.isLeader()), 20_000);

    await Promise.all(others.map((i) => cluster.killServer(i)));
    const killedAt = performance.now();
    await pollUntil(
      'both candidates to see Consul unreachable',
      () => elections.every((e) => !e.state.consulReachable) || undefined,
      10_000,
    );
    // Its renewals fail too: it steps down at its deadline, a lease after its last confirmation.
    await pollUntil(
      'the leader to step down',
      () => !elections.some((e) => e.isLeader()) || undefined,
      5_000,
    );
    // The outage lasts 5 s: long enough for every loop to fail and retry several times.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, 5_000 - (performance.now() - killedAt))),
    );

    // Healing starts when the servers do: restartServer resolves only once autopilot calls them
    // healthy, by which time the cluster has long served again.
    const healedAt = performance.now();
    const restarted = Promise.all(others.map((i) => cluster.restartServer(i)));
    await pollUntil(
      'a leader again',
      () => elections.find((e) => e.isLeader()),
      LEADS_AGAIN_WITHIN_MS + 5_000,
    );
    const ledAgainAfterMs = Math.round(performance.now() - healedAt);

    const seen = [...new Set(watched.flatMap((w) => [...w.kinds]))].sort();
    // Observed: server-error (500 "rpc error getting client: … connection refused") and timeout.
    const transient = ['unreachable', 'timeout', 'server-error', 'rate-limited'];
    expect(seen.length).toBeGreaterThan(0);
    expect({
      notTransient: seen.filter((kind) => !transient.includes(kind)),
      errors: watched.flatMap((w) => w.errors()),
    }).toEqual({ notTransient: [], errors: [] });
    expect(ledAgainAfterMs).toBeLessThan(LEADS_AGAIN_WITHIN_MS);
    await restarted;
  });
});

describe('a dev agent that restarts, or loses a session (real Consul 1.8.7)', () => {
  const consul = useRealConsul();

  it('with failFast, lets start() resolve while the agent is down, then leads once the agent is back', async () => {
    const lines: string[] = [];
    const election = consul.candidate(uniqueKey('failfast-restart'), 'a', {
      failFast: true,
      logger: memoryLogger('a', lines),
    });
    const watched = watchProblems(election, lines);
    await consul.agent.kill();
    // What start() resolved on: the first outcome, met with the agent down.
    const started = election.start().then(
      () => `resolved on ${election.state.problem?.kind ?? 'no problem'}`,
      (error: Error) => `rejected: ${error.message}`,
    );
    // Restarted while start() waits: it meets a refused connection, then an agent coming up empty.
    const restarted = consul.agent.restart();
    // A refused connection, or a timeout on a busy machine: Consul not reachable, not misconfigured.
    expect(await started).toMatch(/^resolved on (unreachable|timeout)$/);
    await restarted;
    await pollUntil(
      'the candidate to lead',
      () => election.isLeader() || undefined,
      LEADS_AGAIN_WITHIN_MS,
    );
    expect({ kinds: [...watched.kinds], errors: watched.errors() }).toEqual({
      kinds: expect.not.arrayContaining(['misconfigured']),
      errors: [],
    });
  });

  it('takes the answers of an agent that restarted without its state for a lost session and check, not for misconfiguration', async () => {
    const key = uniqueKey('wiped-agent');
    const lines: string[] = [];
    const elections = ['a', 'b'].map((id) =>
      consul.candidate(key, id, { logger: memoryLogger(id, lines) }),
    );
    const watched = elections.map((election) => watchProblems(election, lines));
    elections.forEach((election) => void election.start());
    await pollUntil('a leader', () => elections.find((e) => e.isLeader()), 15_000);
    const restartBegan = new Date();

    await consul.agent.restart();
    const restartedAt = performance.now();
    await pollUntil(
      'a new term after the restart',
      () => elections.find((e) => e.isLeader() && e.state.term!.startedAt >= restartBegan),
      LEADS_AGAIN_WITHIN_MS + 5_000,
    );
    expect(performance.now() - restartedAt).toBeLessThan(LEADS_AGAIN_WITHIN_MS);
    expect(
      lines.some((line) => /no longer knows session|registering the check again/.test(line)),
    ).toBe(true);
    const seen = [...new Set(watched.flatMap((w) => [...w.kinds]))];
    expect({ seen, errors: watched.flatMap((w) => w.errors()) }).toEqual({
      seen: expect.not.arrayContaining(['misconfigured']),
      errors: [],
    });
  });

  it('takes a session an operator destroyed (renew 404) for a lost session, opened again at once, not for misconfiguration', async () => {
    const lines: string[] = [];
    const key = uniqueKey('destroyed-session');
    const election = consul.candidate(key, 'a', { logger: memoryLogger('a', lines) });
    const watched = watchProblems(election, lines);
    void election.start();
    await pollUntil('the candidate to lead', () => election.isLeader() || undefined, 15_000);
    const sessions = JSON.parse(
      (await consulRequest(consul.agent.address, '/v1/session/list')).body,
    ) as Array<{ ID: string; Name: string }>;
    const sessionId = sessions.find((session) => session.Name === `${key}#a`)!.ID;
    const destroyed = await consulRequest(
      consul.agent.address,
      `/v1/session/destroy/${sessionId}`,
      {
        method: 'PUT',
      },
    );
    expect(destroyed.status).toBe(200);
    await pollUntil(
      'a second term, with a new session',
      () => (election.isLeader() && election.state.term!.number === 2) || undefined,
      LEADS_AGAIN_WITHIN_MS,
    );
    expect(lines.some((line) => line.includes(`no longer knows session ${sessionId}`))).toBe(true);
    expect({ kinds: [...watched.kinds], errors: watched.errors() }).toEqual({
      kinds: expect.not.arrayContaining(['misconfigured']),
      errors: [],
    });
  });
});
