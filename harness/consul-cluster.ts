// A 3-server cluster of local binaries, for the suites that kill and restart the Raft leader.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { agentConfig, deepMerge, workDir } from './agent-config';
import { READY_TIMEOUT_MS, type ConsulAgent } from './consul-agent';
import { consulRequest, pollReady, READY_KEY, statusLeader } from './consul-http';
import { ensureConsulSource, type ConsulSource } from './consul-source';
import { LocalConsulAgent } from './local-agent';
import { canBind, findFreePorts } from './ports';

export interface ConsulCluster {
  /** Three servers, each with its own HTTP port, on 127.0.0.2/.3/.4 when bindable, else 127.0.0.1. */
  readonly servers: ConsulAgent[];
  /** Index in `servers` of the current Raft leader, or -1 when no live server knows one. */
  raftLeaderIndex(): Promise<number>;
  /**
   * Polls until a leader other than `exclude` is known to the live servers and has finished
   * establishing its leadership (it serves consistent reads); returns its index.
   */
  waitForRaftLeader(timeoutMs?: number, exclude?: number): Promise<number>;
  killServer(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts server `i` again with its data dir; resolves when it is back in the Raft peer set. */
  restartServer(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts three non-dev servers (`-bootstrap-expect 3`, `-retry-join` each other, Raft timing
 * multiplier 1) with data dirs in a temp folder, so a killed server restarts with its state and
 * rejoins. Needs a local binary: CONSUL_HTTP_ADDR is ignored and Docker is not supported.
 */
export async function startConsulCluster(
  options: { sessionTtlMin?: string } = {},
): Promise<ConsulCluster> {
  const source = await ensureConsulSource({}, { forceLocal: true });
  if (source.kind === 'docker') {
    throw new Error(
      'startConsulCluster needs a local consul binary (CONSUL_BIN=/path/to/consul or consul on ' +
        'PATH); clusters in Docker are not supported by the harness.',
    );
  }
  const distinct = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const hosts = (await Promise.all(distinct.map(canBind))).every(Boolean)
    ? distinct
    : ['127.0.0.1', '127.0.0.1', '127.0.0.1'];
  for (let attempt = 1; ; attempt++) {
    const ports = await findFreePorts([...new Set(hosts)], 12);
    const cluster = new LocalConsulCluster(source, hosts, ports, options);
    try {
      await cluster.start();
      return cluster;
    } catch (error) {
      const retry = cluster.servers.some((s) => s.lostPortRace()) && attempt < 3;
      await cluster.stop();
      if (!retry) throw error;
    }
  }
}

class LocalConsulCluster implements ConsulCluster {
  readonly servers: LocalConsulAgent[];

  constructor(
    source: ConsulSource,
    hosts: readonly string[],
    ports: readonly number[],
    options: { sessionTtlMin?: string },
  ) {
    const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
    const serf = hosts.map((host, i) => `${host}:${ports[i * 4 + 2]}`);
    this.servers = hosts.map((host, i) => {
      const node = `ncl-srv-${id}-${i}`;
      const dir = workDir(node);
      return new LocalConsulAgent({
        binary: source.binary!,
        node,
        host,
        ports: {
          http: ports[i * 4],
          server: ports[i * 4 + 1],
          serfLan: ports[i * 4 + 2],
          serfWan: ports[i * 4 + 3],
        },
        mode: [
          '-server',
          ...['-bootstrap-expect', '3', '-data-dir', path.join(dir, 'data')],
          ...serf.filter((_, j) => j !== i).flatMap((a) => ['-retry-join', a]),
          // The default 30 s between join attempts would stall a start where one server is late.
          ...['-retry-interval', '1s'],
        ],
        config: deepMerge(agentConfig({ sessionTtlMin: options.sessionTtlMin }), {
          // Raft's timings × 1 instead of × 5: leader loss is detected in about a second.
          performance: { raft_multiplier: 1 },
        }),
        token: undefined,
        workDir: dir,
      });
    });
  }

  async start(): Promise<void> {
    // All three must run before any can elect a leader (bootstrap-expect 3).
    this.servers.forEach((s) => s.spawn());
    await Promise.all(this.servers.map((s) => s.waitReady()));
  }

  private server(i: number): LocalConsulAgent {
    const server = this.servers[i];
    if (server === undefined) throw new Error(`No server ${i}: the cluster has 0..2`);
    return server;
  }

  async raftLeaderIndex(exclude = -1): Promise<number> {
    for (const [i, server] of this.servers.entries()) {
      if (i === exclude || server.pid === undefined) continue;
      const leader = await statusLeader(server.address);
      if (leader !== '') return this.servers.findIndex((s) => s.raftAddress === leader);
    }
    return -1;
  }

  async waitForRaftLeader(timeoutMs = 20_000, exclude = -1): Promise<number> {
    let index = -1;
    await pollReady(
      'Raft leader election',
      async () => {
        index = await this.raftLeaderIndex(exclude);
        if (index === -1 || index === exclude) return `leader index ${index}`;
        // A new Raft leader answers reads from its FSM before it has applied the entries of the
        // previous term (a key written just before the failover can read as 404). Consul sets
        // "ready for consistent reads" after its leadership barrier, so wait for that too.
        try {
          const { status, body } = await consulRequest(
            this.servers[index].address,
            `/v1/kv/${READY_KEY}?consistent`,
          );
          return status === 200 || status === 404
            ? undefined
            : `consistent read: ${status} ${body}`;
        } catch (error) {
          return `consistent read: ${(error as Error).message}`;
        }
      },
      timeoutMs,
    );
    return index;
  }

  async killServer(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.server(i).kill(signal);
  }

  async restartServer(i: number): Promise<void> {
    const server = this.server(i);
    await server.halt();
    server.spawn();
    await server.waitReady(`cluster server ${i} (${server.node}) rejoining`);
    // Its own peer list comes from its data dir and proves nothing; the leader's autopilot view
    // says whether it is in contact and caught up with the log.
    await pollReady(
      `server ${i} (${server.node}) healthy in the leader's autopilot view`,
      async () => {
        try {
          const { status, body } = await consulRequest(
            server.address,
            '/v1/operator/autopilot/health',
          );
          const health = JSON.parse(body) as {
            Servers?: Array<{ Name: string; Healthy: boolean; Voter: boolean }>;
          };
          const self = health.Servers?.find((s) => s.Name === server.node);
          return self?.Healthy && self.Voter
            ? undefined
            : `${status} ${JSON.stringify(self ?? body)}`;
        } catch (error) {
          return (error as Error).message;
        }
      },
      READY_TIMEOUT_MS,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
