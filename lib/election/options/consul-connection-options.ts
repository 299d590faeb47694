import { readFileSync } from 'node:fs';
import type {
  ConsulConnectionOptions,
  ElectionOptions,
  ResolvedElectionOptions,
} from './election-options';
import { refuseUnknownKeys, type KnownKeys } from './option-keys';

const CONSUL_OPTION_KEYS: KnownKeys<ConsulConnectionOptions> = {
  host: true,
  port: true,
  secure: true,
  ca: true,
  token: true,
  dc: true,
};
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';

/** Where Consul is: the \`consul\` option, with unset fields from Consul's own environment variables. */
export function resolveConsul(
  consul: NonNullable<ElectionOptions['consul']>,
  env: NodeJS.ProcessEnv,
): ResolvedElectionOptions['consul'] {
  if (typeof consul !== 'object' || consul === null) {
    throw new ElectionOptionsError(
      'consul',
      ElectionMessages.optionOutOfRange(
        'consul',
        consul,
        'an object ({ host, port, secure, ca, token, dc })',
      ),
    );
  }
  refuseUnknownKeys(consul, CONSUL_OPTION_KEYS, 'consul');
  const fromEnv = parseHttpAddr(env.CONSUL_HTTP_ADDR);
  const secure =
    consul.secure ?? (fromEnv?.secure || /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? ''));
  const host = consul.host ?? fromEnv?.host ?? '127.0.0.1';
  const port = consul.port ?? fromEnv?.port ?? (secure ? 8501 : 8500);
  if (typeof host !== 'string' || host.length === 0) {
    throw new ElectionOptionsError(
      'consul.host',
      ElectionMessages.optionOutOfRange('consul.host', host, 'a host name or IP address'),
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ElectionOptionsError(
      'consul.port',
      ElectionMessages.optionOutOfRange('consul.port', port, 'an integer from 1 to 65535'),
    );
  }
  for (const field of ['token', 'dc'] as const) {
    const value = consul[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new ElectionOptionsError(
        `consul.${field}`,
        ElectionMessages.optionOutOfRange(`consul.${field}`, value, 'a non-empty string'),
      );
    }
  }
  if (consul.secure !== undefined && typeof consul.secure !== 'boolean') {
    throw new ElectionOptionsError(
      'consul.secure',
      ElectionMessages.optionOutOfRange('consul.secure', consul.secure, 'true or false'),
    );
  }
  const token = consul.token ?? (env.CONSUL_HTTP_TOKEN || undefined);
  let ca = consul.ca;
  if (ca === undefined && env.CONSUL_CACERT) {
    try {
      ca = readFileSync(env.CONSUL_CACERT);
    } catch (error) {
      throw new ElectionOptionsError(
        'consul.ca',
        ElectionMessages.optionOutOfRange(
          'consul.ca',
          `CONSUL_CACERT=${env.CONSUL_CACERT}`,
          `a readable CA file (${(error as Error).message})`,
        ),
      );
    }
  }
  return { host, port, secure: Boolean(secure), token, dc: consul.dc, ca };
}

/** `CONSUL_HTTP_ADDR` as Consul's CLI reads it: `host:port`, or a URL with `http`/`https`. */
function parseHttpAddr(
  value: string | undefined,
): { host: string; port?: number; secure: boolean } | undefined {
  if (!value) return undefined;
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ElectionOptionsError(
      'consul',
      ElectionMessages.optionOutOfRange(
        'CONSUL_HTTP_ADDR (environment)',
        value,
        '"host:port" or "http(s)://host:port"',
      ),
    );
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : undefined,
    secure: url.protocol === 'https:',
  };
}
