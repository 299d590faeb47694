import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  pollUntil,
  startConsulAgent,
  startTcpProxy,
  type ConsulAgent,
  type TcpProxy,
} from '../../harness';
import {
  isRecordedProcessAlive,
  killRecorded,
  listRecords,
  liveRecords,
} from '../../harness/process-registry';

async function consul<T>(
  agent: { address: string },
  path: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  const response = await fetch(`${agent.address}${path}`, {
    method: init.method ?? 'GET',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 2_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

interface KvEntry {
  Key: string;
  LockIndex: number;
  Session?: string;
}

describe('the Consul test harness', () => {
  let agent: ConsulAgent;

  beforeAll(async () => {
    const started = performance.now();
    agent = await startConsulAgent({ forceLocal: true });
    console.log(`dev agent ready in ${Math.round(performance.now() - started)} ms`);
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('starts a real agent that reports its version', async () => {
    expect(await agent.version()).toMatch(/^\d+\.\d+\.\d+/);
    expect(agent.pid).toEqual(expect.any(Number));
    expect(agent.address).toBe(`http://${agent.host}:${agent.port}`);
  });

  it('lets a session with a TTL under 10 s be created, so session_ttl_min took effect', async () => {
    const { ID } = await consul<{ ID: string }>(agent, '/v1/session/create', {
      method: 'PUT',
      body: { TTL: '1s', Behavior: 'delete' },
    });
    const [info] = await consul<Array<{ TTL: string }>>(agent, `/v1/session/info/${ID}`);
    expect(info.TTL).toBe('1s');
  });

  it('acquires a key with a session, which sets LockIndex to 1 and the Session', async () => {
    const { ID } = await consul<{ ID: string }>(agent, '/v1/session/create', {
      method: 'PUT',
      body: { TTL: '10s' },
    });
    expect(
      await consul(agent, `/v1/kv/harness/lock?acquire=${ID}`, { method: 'PUT', body: 'me' }),
    ).toBe(true);
    const [entry] = await consul<KvEntry[]>(agent, '/v1/kv/harness/lock');
    expect(entry).toMatchObject({ LockIndex: 1, Session: ID });
  });

  it('comes back empty on the same address after a restart, since a dev agent keeps state in memory', async () => {
    await consul(agent, '/v1/kv/harness/wiped', { method: 'PUT', body: 'x' });
    const { address, port } = agent;
    const pidBefore = agent.pid;
    const started = performance.now();
    await agent.restart();
    console.log(`dev agent restarted in ${Math.round(performance.now() - started)} ms`);
    expect(agent.address).toBe(address);
    expect(agent.port).toBe(port);
    expect(agent.pid).not.toBe(pidBefore);
    const response = await fetch(`${agent.address}/v1/kv/harness/wiped`);
    expect(response.status).toBe(404);
  });

  describe('the TCP proxy', () => {
    let proxy: TcpProxy;

    beforeAll(async () => {
      proxy = await startTcpProxy({ host: agent.host, port: agent.port });
    });

    afterAll(async () => {
      await proxy?.close();
    });

    it('forwards requests to the agent', async () => {
      expect(await consul<string>(proxy, '/v1/status/leader')).not.toBe('');
    });

    it('makes a request time out after partition(), on a new and on a kept-alive connection', async () => {
      await consul(proxy, '/v1/status/leader'); // leaves a kept-alive connection in the pool
      proxy.partition();
      await expect(consul(proxy, '/v1/status/leader', { timeoutMs: 300 })).rejects.toThrow(
        /timeout|aborted/i,
      );
      await expect(consul(proxy, '/v1/status/leader', { timeoutMs: 300 })).rejects.toThrow(
        /timeout|aborted/i,
      );
    });

    it('lets requests through again after heal()', async () => {
      proxy.heal();
      // heal() destroys the black-holed connections; a client may first notice one of them
      // closing under it ("other side closed"), as after a real outage, so retry briefly.
      const deadline = performance.now() + 2_000;
      let leader: string | undefined;
      while (leader === undefined) {
        try {
          leader = await consul<string>(proxy, '/v1/status/leader');
        } catch (error) {
          if (performance.now() > deadline) throw error;
        }
      }
      expect(leader).not.toBe('');
    });
  });
});

describe('an agent with ACLs from the harness', () => {
  const managementToken = '3f1c2b9e-8d47-4a55-9a1e-6c0b7d2e4f10';
  let agent: ConsulAgent;

  beforeAll(async () => {
    agent = await startConsulAgent({ acl: { defaultPolicy: 'deny', managementToken } });
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('refuses an anonymous KV write and accepts the management token', async () => {
    const put = (token?: string) =>
      fetch(`${agent.address}/v1/kv/harness/acl`, {
        method: 'PUT',
        body: 'x',
        headers: token ? { 'X-Consul-Token': token } : {},
      });
    expect((await put()).status).toBe(403);
    expect((await put(managementToken)).status).toBe(200);
    expect(await agent.version()).toMatch(/^\d+\./);
  });
});

describe('the harness cleanup', () => {
  const root = path.resolve(__dirname, '..', '..');

  /** Runs `cli.ts agent` in its own process and resolves with its PID and its agent's record. */
  async function agentOwnedByAnotherProcess(env: NodeJS.ProcessEnv = {}) {
    const cli = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules/.bin/ts-node'),
        '--transpile-only',
        'harness/cli.ts',
        'agent',
        '--local',
      ],
      { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const agentPid = await pollUntil(
      "the agent's pid from the cli",
      () => Number(/pid (\d+)/.exec(stderr)?.[1]) || undefined,
      { timeoutMs: 30_000, lastSeen: () => `cli said: ${stderr}` },
    );
    const record = listRecords().find((r) => r.pid === agentPid);
    expect(record?.ownerPid).toBe(cli.pid);
    return { cli, record: record! };
  }

  it('stops an agent within seconds when the process that started it is SIGKILLed', async () => {
    const { cli, record } = await agentOwnedByAnotherProcess();
    cli.kill('SIGKILL');
    await pollUntil(
      `pid ${record.pid} to be stopped`,
      () => !isRecordedProcessAlive(record),
      15_000,
    );
  });

  it('finds an orphaned agent as a leftover and stops it by PID, as globalTeardown does', async () => {
    const { cli, record } = await agentOwnedByAnotherProcess({ CONSUL_HARNESS_NO_WATCHDOG: '1' });
    cli.kill('SIGKILL');
    await new Promise((resolve) => cli.once('exit', resolve));
    const leftovers = liveRecords({ orphansOnly: true }).filter((r) => r.pid === record.pid);
    expect(leftovers).toHaveLength(1);
    expect(await killRecorded(leftovers)).toEqual([]);
    expect(isRecordedProcessAlive(record)).toBe(false);
    expect(listRecords().some((r) => r.pid === record.pid)).toBe(false);
  });
});
