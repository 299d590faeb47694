import { parseDuration } from '../time/duration';
import type { ElectionOptions, ResolvedElectionOptions } from './election-options';
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';
import { resolveConsul } from './consul-connection-options';
import { resolveHealthCheck } from './health-check-options';
import { checkLogger, resolveInstanceId, resolveKey, resolveMetadata } from './identity-options';
import { durationIn, HOUR, MINUTE, SECOND } from './option-durations';
import { checkSafetyRules } from './option-safety-rules';

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

  const healthCheck = resolveHealthCheck(options.healthCheck, key);

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
  };
  checkSafetyRules(resolved);
  return resolved;
}
