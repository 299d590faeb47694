// Issue 18, defect 2: an operator removed the key rule from one instance's policy while it led. Its
// confirmations were refused, it stepped down at its deadline, and its release, refused 403, was
// retried for ever — while its session renewals and check updates still succeeded, so Consul never
// freed the key: another candidate had not led after 120 s. The holder now destroys its session (a
// right it still has), and the next candidate leads lock-delay after that.
import { LeaderElection } from '../../../../lib/election';
import { startConsulAgent, type ConsulAgent } from '../../../../harness';
import {
  FAST_TIMINGS,
  LeadershipRecorder,
  memoryLogger,
  uniqueKey,
  waitForState,
} from '../../../support/election-kit';
import { parseDuration } from '../../../../lib/election/time/duration';
import { aclPut } from '../../../support/consul-acl';

const MANAGEMENT_TOKEN = 'key-rights-root-secret';
const RULES = {
  key: 'key_prefix "" { policy = "write" }',
  others:
    'session_prefix "" { policy = "write" } service_prefix "" { policy = "write" } ' +
    'node_prefix "" { policy = "read" }',
};

describe('a leader whose token loses its key rule (issue 18, defect 2, real Consul with ACLs)', () => {
  let agent: ConsulAgent;
  const elections: LeaderElection[] = [];
  beforeAll(async () => {
    agent = await startConsulAgent({
      acl: { defaultPolicy: 'deny', managementToken: MANAGEMENT_TOKEN },
    });
  });
  afterEach(async () => {
    await Promise.all(elections.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await agent?.stop();
  });

  function acl(path: string, body: unknown): Promise<Record<string, unknown>> {
    return aclPut(agent, MANAGEMENT_TOKEN, path, body);
  }

  /** A policy of its own with every rule the election needs, and a token bound to it. */
  async function tokenWithOwnPolicy(
    name: string,
  ): Promise<{ token: string; policy: { ID: string; Name: string } }> {
    const policy = await acl('/v1/acl/policy', {
      Name: `${name}-${process.pid}-${Date.now()}`,
      Rules: `${RULES.key} ${RULES.others}`,
    });
    const token = await acl('/v1/acl/token', { Policies: [{ ID: policy.ID }] });
    return {
      token: token.SecretID as string,
      policy: { ID: policy.ID as string, Name: policy.Name as string },
    };
  }

  function candidate(key: string, instanceId: string, token: string, lines: string[] = []) {
    const election = new LeaderElection({
      key,
      instanceId,
      consul: { host: agent.host, port: agent.port, token },
      ...FAST_TIMINGS,
      logger: memoryLogger(instanceId, lines),
    });
    elections.push(election);
    return election;
  }

  it('lets another candidate lead within seconds, and the ex-leader says it destroyed its session', async () => {
    const key = uniqueKey('key-rights');
    const a = await tokenWithOwnPolicy('a');
    const b = await tokenWithOwnPolicy('b');
    const aLines: string[] = [];
    const leader = candidate(key, 'a', a.token, aLines);
    const follower = candidate(key, 'b', b.token);
    const recorder = new LeadershipRecorder();
    recorder.watch(leader);
    recorder.watch(follower);
    leader.start();
    await waitForState(leader, (s) => s.role === 'leader', 10_000);
    follower.start();
    await waitForState(follower, (s) => s.role === 'follower' && s.leader?.instanceId === 'a');

    // The operator's edit: a's policy keeps its session, service and node rules, not the key rule.
    await acl(`/v1/acl/policy/${a.policy.ID}`, { Name: a.policy.Name, Rules: RULES.others });
    const editedAt = performance.now();
    await waitForState(follower, (s) => s.role === 'leader', 15_000, 'lead');
    const tookMs = performance.now() - editedAt;
    process.stdout.write(
      `key rule removed from the leader's policy: b led after ${tookMs.toFixed(0)} ms\n`,
    );

    // The lease, then lock-delay after the destroy (no "released" marker), and some slack for the
    // agent's ACL resolution and the test's own polling.
    const bound =
      parseDuration(FAST_TIMINGS.leaseDuration)! + parseDuration(FAST_TIMINGS.lockDelay)! + 2_000;
    expect(tookMs).toBeLessThan(bound);
    expect(recorder.overlaps()).toEqual([]);
    expect(leader.state.problem).toMatchObject({ kind: 'forbidden', status: 403 });
    expect(aLines.filter((line) => / (warn|error) /.test(line))).toContainEqual(
      expect.stringMatching(new RegExp(`"${key}".*write.*destroyed session`, 'is')),
    );
  }, 30_000);
});
