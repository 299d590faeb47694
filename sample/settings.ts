/**
 * What the sample reads from the environment. The Consul agent is not here: the library itself
 * reads `CONSUL_HTTP_ADDR` (`host:port` or a URL) and `CONSUL_HTTP_TOKEN`, as Consul's CLI does.
 * A real app would more likely use `@nestjs/config` and `ConsulLeaderModule.forRootAsync`.
 */
export interface SampleSettings {
  /** HTTP port of this instance (`PORT`, default 3000). */
  readonly port: number;
  /** How this instance shows up in `leader$` and `GET /leader` (`INSTANCE_ID`). */
  readonly instanceId: string;
  /** The Consul key the instances compete for (`LEADER_KEY`, default `sample/leader`). */
  readonly leaderKey: string;
}

export function readSampleSettings(env: NodeJS.ProcessEnv = process.env): SampleSettings {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(env.PORT)}`);
  }
  return {
    port,
    instanceId: env.INSTANCE_ID || `sample-${process.pid}`,
    leaderKey: env.LEADER_KEY || 'sample/leader',
  };
}
