import { parseDuration } from '../time/duration';
import type { ElectionOptions, ResolvedElectionOptions, RetryOptions } from './election-options';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';
import { resolveConsul } from './consul-connection-options';
import { resolveHealthCheck } from './health-check-options';
import { checkLogger, resolveInstanceId, resolveKey, resolveMetadata } from './identity-options';
import { durationIn, HOUR, LEASE_DURATION_MAX_MS, MINUTE, SECOND } from './option-durations';
import { checkSafetyRules } from './option-safety-rules';
import { refuseUnknownKeys, type KnownKeys } from './option-keys';

export const ELECTION_OPTION_KEYS: KnownKeys<ElectionOptions> = {
  key: true,
  consul: true,
  instanceId: true,
  metadata: true,
  leaseDuration: true,
  renewInterval: true,
  requestTimeout: true,
  lockDelay: true,
  sessionTtl: true,
  sessionTtlMin: true,
  healthCheck: true,
  successionStep: true,
  watchWait: true,
  resignPause: true,
  drainTimeout: true,
  retry: true,
  failFast: true,
  logger: true,
  clock: true,
  consulPort: true,
};

const RETRY_OPTION_KEYS: KnownKeys<RetryOptions> = { initialDelay: true, maxDelay: true };

/** Consul's own bounds on a session TTL (`structs.SessionTTLMax`; `session_ttl_min` defaults to 10 s). */
const CONSUL_SESSION_TTL_MIN_MS = 10 * SECOND;
const CONSUL_SESSION_TTL_MAX_MS = 24 * HOUR;

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
  refuseUnknownKeys(options, ELECTION_OPTION_KEYS);
  if (isObject(options.retry)) refuseUnknownKeys(options.retry, RETRY_OPTION_KEYS, 'retry');
  const key = resolveKey(options.key);
  checkLogger(options.logger);
  const consul = resolveConsul(options.consul ?? {}, env);
  const instanceId = resolveInstanceId(options.instanceId);
  const metadata = resolveMetadata(options.metadata);

  const leaseDurationMs = durationIn(
    'leaseDuration',
    options.leaseDuration,
    2_500,
    200,
    LEASE_DURATION_MAX_MS,
  );
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
  const sessionTtlMinMs = durationIn(
    'sessionTtlMin',
    options.sessionTtlMin,
    CONSUL_SESSION_TTL_MIN_MS,
    SECOND,
    CONSUL_SESSION_TTL_MIN_MS,
  );
  const sessionTtlMs = durationIn(
    'sessionTtl',
    options.sessionTtl,
    Math.max(30 * SECOND, sessionTtlMinMs),
    sessionTtlMinMs,
    CONSUL_SESSION_TTL_MAX_MS,
    "Consul's own range, where the servers' session_ttl_min (default 10s) is the minimum; " +
      'set sessionTtlMin where it is lowered',
  );
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

  const healthCheck = resolveHealthCheck(options.healthCheck, key);
  if (options.failFast !== undefined && typeof options.failFast !== 'boolean') {
    throw new ElectionOptionsError(
      'failFast',
      ElectionMessages.optionOutOfRange('failFast', options.failFast, 'true or false'),
    );
  }

  const resolved: ResolvedElectionOptions = {
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
    failFast: options.failFast ?? false,
  };
  checkSafetyRules(resolved);
  return resolved;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
