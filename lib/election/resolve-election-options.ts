import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { brokenConsulKeyRule } from './consul-key';
import { describeDuration, parseDuration, type Duration } from './duration';
import type { ElectionOptions, ResolvedElectionOptions } from './election-options';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from './election.messages';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Consul KV values are limited to 512 KiB; metadata shares the key with a small envelope. */
const MAX_METADATA_BYTES = 64 * 1024;

/**
 * Applies defaults and validates every option, so that a bad value fails at bootstrap with a message
 * naming the field, the value and the accepted range, never as a silent default.
 */
export function resolveElectionOptions(
  options: ElectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedElectionOptions {
  if (options === null || typeof options !== 'object') {
    throw new ElectionOptionsError(
      'options',
      ElectionMessages.optionRequired('options', 'an object with at least "key"'),
    );
  }
  const key = resolveKey(options.key);
  checkLogger(options.logger);
  const consul = resolveConsul(options.consul ?? {}, env);
  const instanceId = resolveInstanceId(options.instanceId);
  const metadata = resolveMetadata(options.metadata);

  const leaseDurationMs = durationIn('leaseDuration', options.leaseDuration, 2_500, 200, MINUTE);
  // Half the lease: a confirmation that times out can be retried once before the deadline.
  const renewIntervalMs = durationIn(
    'renewInterval',
    options.renewInterval,
    leaseDurationMs / 2,
    50,
    MINUTE,
  );
  // The default timeout fits every cadence it serves: a lease renewal and a check update.
  const checkTtlMs =
    options.healthCheck === false
      ? Infinity
      : (parseDuration(options.healthCheck?.ttl ?? 2 * SECOND) ?? Infinity);
  const requestTimeoutMs = durationIn(
    'requestTimeout',
    options.requestTimeout,
    Math.min(SECOND, leaseDurationMs / 5, checkTtlMs / 4),
    50,
    MINUTE,
  );
  const lockDelayMs = durationIn('lockDelay', options.lockDelay, leaseDurationMs, 0, MINUTE);
  const sessionTtlMs = durationIn('sessionTtl', options.sessionTtl, 30 * SECOND, SECOND, 24 * HOUR);
  const successionStepMs = durationIn(
    'successionStep',
    options.successionStep,
    250,
    10,
    10 * SECOND,
  );
  const watchWaitMs = durationIn('watchWait', options.watchWait, MINUTE, SECOND, 10 * MINUTE);
  const resignPauseMs = durationIn('resignPause', options.resignPause, 5 * SECOND, 0, HOUR);
  const drainTimeoutMs = durationIn(
    'drainTimeout',
    options.drainTimeout,
    10 * SECOND,
    0,
    10 * MINUTE,
  );
  const initialDelayMs = durationIn(
    'retry.initialDelay',
    options.retry?.initialDelay,
    250,
    10,
    MINUTE,
  );
  const maxDelayMs = durationIn(
    'retry.maxDelay',
    options.retry?.maxDelay,
    10 * SECOND,
    initialDelayMs,
    10 * MINUTE,
  );

  let healthCheck: ResolvedElectionOptions['healthCheck'] = null;
  if (options.healthCheck !== false) {
    const check = options.healthCheck ?? {};
    if (typeof check !== 'object' || check === null) {
      throw new ElectionOptionsError(
        'healthCheck',
        ElectionMessages.optionOutOfRange(
          'healthCheck',
          check,
          'an object ({ ttl, standbyTtl, deregisterCriticalServiceAfter, serviceName }) or false',
        ),
      );
    }
    const ttlMs = durationIn('healthCheck.ttl', check.ttl, 2 * SECOND, SECOND, 10 * MINUTE);
    const standbyTtlMs = durationIn(
      'healthCheck.standbyTtl',
      check.standbyTtl,
      Math.max(30 * SECOND, ttlMs),
      ttlMs,
      10 * MINUTE,
    );
    const deregisterCriticalServiceAfterMs = durationIn(
      'healthCheck.deregisterCriticalServiceAfter',
      check.deregisterCriticalServiceAfter,
      MINUTE,
      MINUTE,
      24 * HOUR,
    );
    const serviceName = check.serviceName ?? defaultServiceName(key);
    if (typeof serviceName !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(serviceName)) {
      throw new ElectionOptionsError(
        'healthCheck.serviceName',
        ElectionMessages.optionOutOfRange(
          'healthCheck.serviceName',
          serviceName,
          '1-63 letters, digits or dashes, starting with a letter or digit',
        ),
      );
    }
    healthCheck = { ttlMs, standbyTtlMs, deregisterCriticalServiceAfterMs, serviceName };
  }

  // The safety argument's cross-field rules (SAFETY.md, rules 1 and 2).
  if (requestTimeoutMs >= leaseDurationMs) {
    throw new ElectionOptionsError(
      'requestTimeout',
      ElectionMessages.optionRuleBroken(
        'requestTimeout < leaseDuration',
        `requestTimeout ${describeDuration(requestTimeoutMs)} must be shorter than leaseDuration ${describeDuration(leaseDurationMs)}, or a single slow request outlives the lease`,
      ),
    );
  }
  if (renewIntervalMs + requestTimeoutMs >= leaseDurationMs) {
    throw new ElectionOptionsError(
      'renewInterval',
      ElectionMessages.optionRuleBroken(
        'renewInterval + requestTimeout < leaseDuration',
        `renewInterval ${describeDuration(renewIntervalMs)} + requestTimeout ${describeDuration(requestTimeoutMs)} must be shorter than leaseDuration ${describeDuration(leaseDurationMs)}, so a renewal that times out can be retried before the lease ends`,
      ),
    );
  }
  if (lockDelayMs < leaseDurationMs) {
    throw new ElectionOptionsError(
      'lockDelay',
      ElectionMessages.optionRuleBroken(
        'lockDelay >= leaseDuration',
        `lockDelay ${describeDuration(lockDelayMs)} is shorter than leaseDuration ${describeDuration(leaseDurationMs)}; Consul must keep the key from others at least as long as a cut-off leader may still act`,
      ),
    );
  }
  if (healthCheck && healthCheck.ttlMs / 2 + requestTimeoutMs >= healthCheck.ttlMs) {
    throw new ElectionOptionsError(
      'healthCheck.ttl',
      ElectionMessages.optionRuleBroken(
        'healthCheck.ttl / 2 + requestTimeout < healthCheck.ttl',
        `the check is updated every ${describeDuration(healthCheck.ttlMs / 2)}; with requestTimeout ${describeDuration(requestTimeoutMs)} an update could arrive after the ${describeDuration(healthCheck.ttlMs)} TTL`,
      ),
    );
  }
  if (sessionTtlMs / 2 + requestTimeoutMs >= sessionTtlMs) {
    throw new ElectionOptionsError(
      'sessionTtl',
      ElectionMessages.optionRuleBroken(
        'sessionTtl / 2 + requestTimeout < sessionTtl',
        `the session is renewed every ${describeDuration(sessionTtlMs / 2)}; requestTimeout ${describeDuration(requestTimeoutMs)} is too long for it`,
      ),
    );
  }

  return {
    key,
    consul,
    instanceId,
    metadata,
    leaseDurationMs,
    renewIntervalMs,
    requestTimeoutMs,
    lockDelayMs,
    sessionTtlMs,
    healthCheck,
    successionStepMs,
    watchWaitMs,
    resignPauseMs,
    drainTimeoutMs,
    retry: { initialDelayMs, maxDelayMs },
  };
}

/**
 * `leader-`, the key with anything but letters, digits and dashes turned into dashes (cut so the name
 * stays a valid DNS label, ≤ 63), and a hash of the whole key. The hash is always there: the readable
 * part alone maps `jobs/job.a`, `jobs/job-a` and `jobs-job-a` to one name, and two keys' candidates
 * would then stand in each other's succession order.
 */
function defaultServiceName(key: string): string {
  const readable = `leader-${key.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '')}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${readable.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

function durationIn(
  field: string,
  value: Duration | undefined,
  fallbackMs: number,
  minMs: number,
  maxMs: number,
): number {
  const accepted = `a duration from ${describeDuration(minMs)} to ${describeDuration(maxMs)} (milliseconds as a number, or a string such as "2s" or "500ms")`;
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new ElectionOptionsError(
      field,
      ElectionMessages.optionOutOfRange(field, value, accepted),
    );
  }
  return ms;
}

function resolveKey(key: unknown): string {
  const accepted =
    'a Consul KV path of letters, digits and , - _ . / that does not start with "/", e.g. "service/billing/leader"';
  if (key === undefined || key === null || key === '')
    throw new ElectionOptionsError('key', ElectionMessages.optionRequired('key', accepted));
  if (typeof key !== 'string')
    throw new ElectionOptionsError('key', ElectionMessages.optionOutOfRange('key', key, accepted));
  const rule = brokenConsulKeyRule(key);
  if (rule !== null) {
    throw new ElectionOptionsError(
      'key',
      ElectionMessages.optionOutOfRange('key', key, `${accepted}; it breaks the rule: ${rule}`),
    );
  }
  return key;
}

function resolveInstanceId(instanceId: unknown): string {
  if (instanceId === undefined)
    return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (typeof instanceId !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(instanceId)) {
    throw new ElectionOptionsError(
      'instanceId',
      ElectionMessages.optionOutOfRange(
        'instanceId',
        instanceId,
        '1-128 characters from letters, digits and . _ : @ -',
      ),
    );
  }
  return instanceId;
}

function resolveMetadata(metadata: unknown): Record<string, unknown> {
  if (metadata === undefined) return {};
  const accepted = `a plain JSON-serialisable object of at most ${MAX_METADATA_BYTES / 1024} KiB`;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', metadata, accepted),
    );
  }
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', '[not serialisable]', accepted),
    );
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    throw new ElectionOptionsError(
      'metadata',
      ElectionMessages.optionOutOfRange('metadata', `${Buffer.byteLength(json)} bytes`, accepted),
    );
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/** A logger missing a method would fail later, inside the loops, as unhandled rejections. */
function checkLogger(logger: ElectionOptions['logger']): void {
  if (logger === undefined) return;
  const complete =
    logger !== null &&
    typeof logger === 'object' &&
    ['log', 'warn', 'error'].every(
      (method) => typeof (logger as unknown as Record<string, unknown>)[method] === 'function',
    ) &&
    (logger.debug === undefined || typeof logger.debug === 'function');
  if (!complete) {
    throw new ElectionOptionsError(
      'logger',
      ElectionMessages.optionOutOfRange(
        'logger',
        logger,
        "an object with log, warn and error methods (and optionally debug), such as Nest's Logger or console",
      ),
    );
  }
}

function resolveConsul(
  consul: NonNullable<ElectionOptions['consul']>,
  env: NodeJS.ProcessEnv,
): ResolvedElectionOptions['consul'] {
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
