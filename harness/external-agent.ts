// An agent someone else runs (CONSUL_HTTP_ADDR): the harness only talks to it.
import type { ConsulAgent } from './consul-agent';
import { agentVersion } from './consul-http';

export class ExternalConsulAgent implements ConsulAgent {
  readonly external = true;
  readonly pid = undefined;
  readonly logFile = undefined;
  readonly binary = undefined;
  readonly host: string;
  readonly port: number;

  constructor(readonly address: string) {
    const url = new URL(address);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  version(): Promise<string> {
    return agentVersion(this.address, process.env.CONSUL_HTTP_TOKEN);
  }

  logTail(): string {
    return `(external agent at ${this.address} from CONSUL_HTTP_ADDR: its log is not ours)`;
  }

  private notOurs(action: string): Error {
    return new Error(
      `Cannot ${action} the external Consul agent at ${this.address} (CONSUL_HTTP_ADDR): the ` +
        'harness did not start it. Use startConsulAgent({ forceLocal: true }) for this test.',
    );
  }

  async restart(): Promise<void> {
    throw this.notOurs('restart');
  }

  async kill(): Promise<void> {
    throw this.notOurs('kill');
  }

  async stop(): Promise<void> {
    // Not ours to stop.
  }
}
