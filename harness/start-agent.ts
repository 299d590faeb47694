import { agentConfig, uniqueNode, workDir } from './agent-config';
import type { ConsulAgent, StartAgentOptions } from './consul-agent';
import { pollReady, isServing } from './consul-http';
import { ensureConsulSource } from './consul-source';
import { DockerConsulAgent } from './docker-agent';
import { ExternalConsulAgent } from './external-agent';
import { LocalConsulAgent } from './local-agent';
import { findFreePorts } from './ports';

/**
 * Starts (or, with CONSUL_HTTP_ADDR, connects to) a dev agent and resolves once it has a leader
 * and accepts a KV write. Stop it in `afterAll`; globalTeardown stops whatever a failed suite left.
 */
export async function startConsulAgent(options: StartAgentOptions = {}): Promise<ConsulAgent> {
  const source = await ensureConsulSource({}, { forceLocal: options.forceLocal || !!options.acl });
  if (source.kind === 'external') {
    const agent = new ExternalConsulAgent(source.address!);
    await pollReady(
      `Consul agent at ${agent.address} (CONSUL_HTTP_ADDR)`,
      () => isServing(agent.address, process.env.CONSUL_HTTP_TOKEN),
      10_000,
    );
    return agent;
  }
  if (source.kind === 'docker') return DockerConsulAgent.start(options);
  const host = '127.0.0.1';
  for (let attempt = 1; ; attempt++) {
    const [http, server, serfLan, serfWan] = await findFreePorts([host], 4);
    const node = uniqueNode('dev');
    const agent = new LocalConsulAgent({
      binary: source.binary!,
      node,
      host,
      ports: { http, server, serfLan, serfWan },
      mode: ['-dev'],
      config: agentConfig(options),
      token: options.acl?.managementToken,
      workDir: workDir(node),
      ownProcessGroup: options.ownProcessGroup,
    });
    agent.spawn();
    try {
      await agent.waitReady();
      return agent;
    } catch (error) {
      const retry = agent.lostPortRace() && attempt < 3;
      await agent.stop();
      if (!retry) throw error;
    }
  }
}
