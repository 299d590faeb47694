import { startConsulCluster, type ConsulCluster } from '../../harness';

async function kv(address: string, key: string, value?: string): Promise<Response> {
  return fetch(`${address}/v1/kv/${key}${value === undefined ? '?raw' : ''}`, {
    method: value === undefined ? 'GET' : 'PUT',
    body: value,
    signal: AbortSignal.timeout(5_000),
  });
}

describe('a three-server Consul cluster from the harness', () => {
  let cluster: ConsulCluster;
  let killed = -1;

  beforeAll(async () => {
    const started = performance.now();
    cluster = await startConsulCluster();
    console.log(`cluster ready in ${Math.round(performance.now() - started)} ms`);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs three servers with one Raft leader among them', async () => {
    expect(cluster.servers).toHaveLength(3);
    expect(new Set(cluster.servers.map((s) => s.address)).size).toBe(3);
    expect(await cluster.waitForRaftLeader()).toBeGreaterThanOrEqual(0);
  });

  it('elects a new Raft leader among the others when the leader is killed with SIGKILL', async () => {
    const leader = await cluster.waitForRaftLeader();
    expect((await kv(cluster.servers[leader].address, 'cluster/survives', 'yes')).status).toBe(200);

    const started = performance.now();
    await cluster.killServer(leader, 'SIGKILL');
    killed = leader;
    const next = await cluster.waitForRaftLeader(20_000, leader);
    console.log(`new Raft leader after ${Math.round(performance.now() - started)} ms`);

    expect(next).not.toBe(leader);
    expect(cluster.servers[leader].pid).toBeUndefined();
  });

  it('still serves the key written before the failover through a surviving server', async () => {
    const survivor = cluster.servers.find((_, i) => i !== killed)!;
    const response = await kv(survivor.address, 'cluster/survives');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('yes');
  });

  it('takes a restarted server back into the Raft peer set, with its state', async () => {
    const started = performance.now();
    await cluster.restartServer(killed);
    console.log(`killed server rejoined in ${Math.round(performance.now() - started)} ms`);

    const peers = (await (
      await fetch(`${cluster.servers[killed].address}/v1/status/peers`)
    ).json()) as string[];
    expect(peers).toHaveLength(3);
    const response = await kv(`${cluster.servers[killed].address}`, 'cluster/survives');
    expect(await response.text()).toBe('yes');
    expect(await cluster.raftLeaderIndex()).toBeGreaterThanOrEqual(0);
  });
});
