// The least-privilege ACL policy of docs/operations/acl/*.hcl, proven on a real agent with ACLs on
// (default deny): a token with exactly the candidate policy elects and names its successors; without
// any one of its rules the election fails with a message naming that rule, the key, the service and
// the node. The test reads the policy files the documentation shows, so the two cannot drift.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeConsulPort, systemClock, type LeaderElection } from '../../../lib/election';
import type { FireEvent } from '../../../lib/scheduler/cluster-job';
import { listJobRecords } from '../../../lib/scheduler/job-listing';
import { jobRecordKey } from '../../../lib/scheduler/job-record';
import { JobRunner } from '../../../lib/scheduler/job-runner';
import { electionLeadership } from '../../../lib/scheduler/leadership';
import { pollUntil, startConsulAgent, type ConsulAgent } from '../../../harness';
import { createElection, memoryLogger, uniqueKey, waitForState } from '../../support/election-kit';

const ROOT = path.resolve(__dirname, '../../..');
const MANAGEMENT = randomUUID();

/** The rules of a policy file with its placeholders filled in, one HCL block each. */
function policyRules(file: string, fill: { key: string; service: string; node: string }): string[] {
  const text = fs
    .readFileSync(path.join(ROOT, 'docs/operations/acl', file), 'utf8')
    .replaceAll('<KEY>', fill.key)
    .replaceAll('<SERVICE>', fill.service)
    .replaceAll('<NODE>', fill.node);
  return [...text.matchAll(/^\w+ "[^"]*" \{\n(?: {2}.*\n)*\}$/gm)].map((match) => match[0]);
}

/** `key "a/b" {\n  policy = "write"\n}` as the messages write it: `key "a/b" { policy = "write" }`. */
function oneLine(rule: string): string {
  return rule.replace(/\s*\n\s*/g, ' ');
}

describe('the least-privilege ACL policy (real Consul, default deny)', () => {
  let agent: ConsulAgent;
  let node: string;
  const running: LeaderElection[] = [];

  async function consul(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${agent.address}${route}`, {
      method,
      headers: { 'X-Consul-Token': MANAGEMENT },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function tokenWith(rules: string[]): Promise<string> {
    const name = `policy-${randomUUID()}`;
    await consul('PUT', '/v1/acl/policy', { Name: name, Rules: rules.join('\n\n') });
    const token = (await consul('PUT', '/v1/acl/token', { Policies: [{ Name: name }] })) as {
      SecretID: string;
    };
    return token.SecretID;
  }

  function candidate(key: string, instanceId: string, token: string): LeaderElection {
    const election = createElection(agent, key, instanceId, {
      consul: { host: agent.host, port: agent.port, token },
    });
    running.push(election);
    election.start();
    return election;
  }

  beforeAll(async () => {
    agent = await startConsulAgent({
      forceLocal: true,
      acl: { defaultPolicy: 'deny', managementToken: MANAGEMENT },
    });
    node = ((await consul('GET', '/v1/agent/self')) as { Config: { NodeName: string } }).Config
      .NodeName;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await agent?.stop();
  });

  function fill(key: string): { key: string; service: string; node: string } {
    const probe = createElection(agent, key, 'probe');
    return { key, service: probe.options.healthCheck!.serviceName, node };
  }

  it('has four rules for a candidate: the key, the session on its node, its service, the nodes', () => {
    expect(policyRules('candidate.hcl', fill('a/key')).map(oneLine)).toEqual([
      'key "a/key" { policy = "write" }',
      `session "${node}" { policy = "write" }`,
      `service "${fill('a/key').service}" { policy = "write" }`,
      'node_prefix "" { policy = "read" }',
    ]);
  });

  it('elects with a token holding exactly the candidate policy, and the leader names the other candidate its successor', async () => {
    const key = uniqueKey('acl-exact');
    const token = await tokenWith(policyRules('candidate.hcl', fill(key)));
    const first = candidate(key, 'acl-a', token);
    await waitForState(first, (state) => state.role === 'leader');
    const second = candidate(key, 'acl-b', token);
    await waitForState(second, (state) => state.leader?.instanceId === 'acl-a');
    await pollUntil('acl-b named the successor', async () => {
      const [entry] = (await consul('GET', `/v1/kv/${key}`)) as Array<{ Value: string }>;
      const value = JSON.parse(Buffer.from(entry.Value, 'base64').toString()) as {
        successors?: string[];
      };
      return value.successors?.includes('acl-b') || undefined;
    });
    expect(first.state.problem).toBeNull();
    expect(second.state.problem).toBeNull();
  });

  it.each([0, 1, 2, 3])(
    'fails without rule %i of the candidate policy, with a message naming that rule, the key, the service and the node',
    async (dropped) => {
      const key = uniqueKey(`acl-without-${dropped}`);
      const filled = fill(key);
      const rules = policyRules('candidate.hcl', filled);
      const token = await tokenWith(rules.filter((_, i) => i !== dropped));
      const election = candidate(key, 'acl-lacking', token);
      const rule = oneLine(rules[dropped]);
      // The node is learned from the refused request's agent (its checks); without the service rule
      // there is no check to tell it, and without the node rule nothing is refused. Neither rule
      // names a node.
      const nodeNamed = dropped >= 2 ? "this agent's node" : `node "${node}"`;
      const state = await waitForState(
        election,
        (s) => s.problem?.kind === 'forbidden' && s.problem.message.includes(nodeNamed),
        15_000,
        `a forbidden problem naming ${nodeNamed}`,
      );
      expect(state.problem!.message).toContain(`lacks the rule ${rule}`);
      expect(state.problem!.message).toContain(`"${key}"`);
      expect(state.problem!.message).toContain(`"${filled.service}"`);
      expect(election.isLeader()).toBe(false);
    },
  );

  /** A leader on `token` running an every-second job; its fire events and log lines. */
  async function cronLeader(key: string, token: string) {
    const election = candidate(key, 'acl-cron', token);
    await waitForState(election, (state) => state.role === 'leader');
    const port = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false, token });
    const leadership = electionLeadership(election, port, 1_000);
    const events: FireEvent[] = [];
    const logger = memoryLogger('acl-cron');
    const runner = new JobRunner({
      job: {
        name: 'every-second',
        cronTime: '* * * * * *',
        overlap: 'skip',
        misfire: 'run-once',
        orphans: 'record',
        graceMs: 1_000,
        handler: () => undefined,
      },
      port,
      clock: systemClock,
      leadership,
      instanceId: 'acl-cron',
      recordKey: jobRecordKey(key, 'every-second'),
      requestTimeoutMs: 1_000,
      logger,
      onEvent: (event) => events.push(event),
    });
    runner.start();
    return {
      events,
      port,
      logs: logger.lines,
      stop: async () => {
        await runner.stop();
        leadership.dispose();
        port.close();
      },
    };
  }

  it('claims and runs a @ClusterCron fire with a token holding candidate.hcl and cluster-cron.hcl', async () => {
    const key = uniqueKey('acl-cron');
    const filled = fill(key);
    const rules = [
      ...policyRules('candidate.hcl', filled),
      ...policyRules('cluster-cron.hcl', filled),
    ];
    expect(policyRules('cluster-cron.hcl', filled).map(oneLine)).toEqual([
      `key_prefix "${key}/jobs/" { policy = "write" }`,
      'session_prefix "" { policy = "read" }',
    ]);
    const cron = await cronLeader(key, await tokenWith(rules));
    try {
      await pollUntil(
        'a fire ran and its outcome was written',
        () =>
          cron.events.some((event) => event.kind === 'ended' && event.outcome === 'done') ||
          undefined,
      );
      expect(cron.logs.filter((line) => /denied|cannot/i.test(line))).toEqual([]);
      // describe()'s one prefix read is allowed too.
      const listed = await listJobRecords(cron.port, key, 1_000);
      expect(listed.get('every-second')?.record?.run?.owner).toBe('acl-cron');
    } finally {
      await cron.stop();
    }
  });

  it('runs no @ClusterCron fire without the key_prefix rule, and says why', async () => {
    const key = uniqueKey('acl-cron-without');
    const cron = await cronLeader(key, await tokenWith(policyRules('candidate.hcl', fill(key))));
    try {
      await pollUntil(
        'the refusal logged',
        () =>
          cron.logs.some((line) => /cannot reach its record.*(403|denied)/i.test(line)) ||
          undefined,
      );
      expect(cron.events.filter((event) => event.kind === 'started')).toEqual([]);
    } finally {
      await cron.stop();
    }
  });

  it('lets the status command read everything with a token holding exactly the read-only policy', async () => {
    const key = uniqueKey('acl-status');
    const filled = fill(key);
    const leader = candidate(
      key,
      'acl-status-a',
      await tokenWith(policyRules('candidate.hcl', filled)),
    );
    const leading = await waitForState(leader, (state) => state.role === 'leader');
    const token = await tokenWith(policyRules('status.hcl', filled));

    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', 'lib/cli/main.ts', 'status', key, '--json'],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            CONSUL_HTTP_ADDR: `${agent.host}:${agent.port}`,
            CONSUL_HTTP_TOKEN: token,
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      ),
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toMatchObject({
      state: 'held',
      fencingToken: leading.term!.fencingToken,
      session: { node, lockDelayMs: leader.options.lockDelayMs },
      candidates: [{ instanceId: 'acl-status-a', check: 'passing', serfHealth: 'passing' }],
    });
  });
});
