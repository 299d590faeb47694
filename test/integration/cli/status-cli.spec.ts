// `nestjs-consul-leader status <key>` as a user runs it: a child process against a real agent while
// an election runs, read back in both its forms (issue 21, item 6).
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { LeaderElection } from '../../../lib/election';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import type { ElectionStatus } from '../../../lib/cli/election-status';
import {
  createElection,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../support/election-kit';

const ROOT = path.resolve(__dirname, '../../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source in a child process, with Consul's address only in its environment. */
function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'lib/cli/main.ts', ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('nestjs-consul-leader status (real Consul)', () => {
  let agent: ConsulAgent;
  const running: LeaderElection[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    agent = await startConsulAgent();
    env = { CONSUL_HTTP_ADDR: `${agent.host}:${agent.port}` };
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('names the leader, its token, its session and successors, and every candidate with its check, as JSON', async () => {
    const key = uniqueKey('status-cli');
    const first = createElection(agent, key, 'cli-a', { metadata: { zone: 'a' } });
    running.push(first);
    first.start();
    const leading = await waitForState(first, (state) => state.role === 'leader');
    const second = createElection(agent, key, 'cli-b');
    running.push(second);
    second.start();
    await waitUntilNamedSuccessor(agent, key, 'cli-b');

    const run = await runCli(['status', key, '--json'], env);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const status = JSON.parse(run.stdout) as ElectionStatus;
    expect(status).toMatchObject({
      key,
      serviceName: first.options.healthCheck!.serviceName,
      state: 'held',
      leader: { instanceId: 'cli-a', metadata: { zone: 'a' } },
      fencingToken: leading.term!.fencingToken,
      successors: ['cli-b'],
      releasedAt: null,
      leaseMs: first.options.leaseDurationMs,
      session: {
        id: expect.any(String),
        node: expect.any(String),
        lockDelayMs: first.options.lockDelayMs,
      },
    });
    expect(new Date(status.leader!.since).getTime()).toBe(leading.leader!.since.getTime());
    expect(
      status.candidates.map(({ instanceId, check, serfHealth, leading: isLeader }) => ({
        instanceId,
        check,
        serfHealth,
        leading: isLeader,
      })),
    ).toEqual([
      { instanceId: 'cli-a', check: 'passing', serfHealth: 'passing', leading: true },
      { instanceId: 'cli-b', check: 'passing', serfHealth: 'passing', leading: false },
    ]);
  });

  it('prints the same as a table by default', async () => {
    const key = uniqueKey('status-cli-table');
    const election = createElection(agent, key, 'table-a');
    running.push(election);
    election.start();
    const leading = await waitForState(election, (state) => state.role === 'leader');

    const run = await runCli(['status', key], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Key +${key}$`, 'm'));
    expect(run.stdout).toMatch(/^State +held$/m);
    expect(run.stdout).toMatch(/^Leader +table-a$/m);
    expect(run.stdout).toMatch(new RegExp(`^Fencing token +${leading.term!.fencingToken}$`, 'm'));
    expect(run.stdout).toMatch(/^Lock-delay +\d+ ms if the session is invalidated/m);
    expect(run.stdout).toMatch(/^ +INSTANCE +NODE +CHECK +SERF/m);
    expect(run.stdout).toMatch(/^ +\* +table-a +\S+ +passing +passing/m);
  });

  it('reports a key released by a leader that stopped, with its marker, and exits 1', async () => {
    const key = uniqueKey('status-cli-released');
    const election = createElection(agent, key, 'gone');
    election.start();
    await waitForState(election, (state) => state.role === 'leader');
    await election.stop();

    const run = await runCli(['status', key, '--json'], env);
    expect(run.code).toBe(1);
    const status = JSON.parse(run.stdout) as ElectionStatus;
    expect(status).toMatchObject({
      state: 'released',
      leader: { instanceId: 'gone' },
      releasedAt: expect.any(String),
      session: null,
      candidates: [],
    });
  });

  it('exits 1 for a key nobody has held, and says so', async () => {
    const run = await runCli(['status', uniqueKey('status-cli-absent')], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^State +no key/m);
    expect(run.stdout).toContain('none registered');
  });

  it('exits 3 naming the request and the address when Consul does not answer', async () => {
    const run = await runCli(['status', 'some/key', '--addr', '127.0.0.1:1'], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('Consul key read failed');
    expect(run.stderr).toContain('http://127.0.0.1:1');
  });

  it('exits 2 with the usage on a command line without a key', async () => {
    const run = await runCli(['status'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('status needs the election key');
    expect(run.stderr).toContain('Usage: nestjs-consul-leader status <key>');
  });
});
