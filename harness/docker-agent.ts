// A dev agent in a container through testcontainers, when Docker answers and no binary is found.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentConfig, tail, uniqueNode } from './agent-config';
import {
  READY_TIMEOUT_MS,
  STOP_GRACE_MS,
  type ConsulAgent,
  type StartAgentOptions,
} from './consul-agent';
import { agentVersion, isServing, pollReady } from './consul-http';
import { harnessPaths } from './harness-paths';
import { findFreePorts } from './ports';

const DOCKER_IMAGE = 'hashicorp/consul:1.20';

type StartedContainer = import('testcontainers').StartedTestContainer;

export class DockerConsulAgent implements ConsulAgent {
  readonly external = false;
  readonly pid = undefined;
  readonly binary = undefined;
  readonly host = '127.0.0.1';
  readonly address: string;
  readonly logFile: string;
  private stopped = false;

  constructor(
    private readonly container: StartedContainer,
    readonly port: number,
    private readonly token: string | undefined,
    node: string,
  ) {
    this.address = `http://${this.host}:${port}`;
    this.logFile = path.join(harnessPaths().logs, `${node}.log`);
  }

  static async start(options: StartAgentOptions): Promise<DockerConsulAgent> {
    // Loaded only here, so runs without Docker never pay for (or depend on) testcontainers.
    const { GenericContainer } = await import('testcontainers');
    const node = uniqueNode('docker');
    const [port] = await findFreePorts(['127.0.0.1'], 1);
    const container = await new GenericContainer(DOCKER_IMAGE)
      .withName(node)
      // The image's entrypoint adds `-config-dir=/consul/config`, which picks up our file.
      .withCommand(['agent', '-dev', '-client', '0.0.0.0', '-node', node])
      .withCopyContentToContainer([
        { content: JSON.stringify(agentConfig(options)), target: '/consul/config/harness.json' },
      ])
      // A fixed host port, so a restart comes back on the same address.
      .withExposedPorts({ container: 8500, host: port })
      .start();
    fs.mkdirSync(harnessPaths().logs, { recursive: true });
    const agent = new DockerConsulAgent(container, port, options.acl?.managementToken, node);
    (await container.logs()).pipe(fs.createWriteStream(agent.logFile, { flags: 'a' }));
    await agent.waitReady();
    return agent;
  }

  private waitReady(): Promise<void> {
    return pollReady(
      `Consul container at ${this.address}`,
      () => isServing(this.address, this.token),
      READY_TIMEOUT_MS,
    );
  }

  version(): Promise<string> {
    return agentVersion(this.address, this.token);
  }

  logTail(lines = 40): string {
    return tail(this.logFile, lines);
  }

  async restart(): Promise<void> {
    await this.container.restart({ timeout: STOP_GRACE_MS });
    await this.waitReady();
  }

  async kill(): Promise<void> {
    this.stopped = true;
    await this.container.stop({ timeout: 0 });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.container.stop({ timeout: STOP_GRACE_MS });
  }
}
