/**
 * Everything the sample reads from the environment, in one place. A real app would more likely use
 * `@nestjs/config` and `ConsulLeaderModule.forRootAsync({ inject: [ConfigService], useFactory })`.
 */
export interface SampleSettings {
  /** HTTP port of this instance (`PORT`, default 3000). */
  readonly port: number;
  /** How this instance shows up in `leader$` and `GET /leader` (`INSTANCE_ID`). */
  readonly instanceId: string;
  /** The Consul key the instances compete for (`LEADER_KEY`). */
  readonly leaderKey: string;
  /** The agent to talk to (`CONSUL_HTTP_ADDR`, `host:port` or a URL, default `127.0.0.1:8500`). */
  readonly consul: { host: string; port: number; secure: boolean; token?: string };
}

export function readSampleSettings(env: NodeJS.ProcessEnv = process.env): SampleSettings {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(env.PORT)}`);
  }
  // Consul's CLI accepts both `127.0.0.1:8500` and `http://127.0.0.1:8500`; so does the sample.
  const raw = env.CONSUL_HTTP_ADDR || '127.0.0.1:8500';
  const url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  const secure = url.protocol === 'https:';
  return {
    port,
    instanceId: env.INSTANCE_ID || `sample-${process.pid}`,
    leaderKey: env.LEADER_KEY || 'sample/leader',
    consul: {
      host: url.hostname,
      port: Number(url.port || (secure ? 8501 : 8500)),
      secure,
      token: env.CONSUL_HTTP_TOKEN || undefined,
    },
  };
}
