import { createHash } from 'node:crypto';
import type {
  ElectionOptions,
  HealthCheckOptions,
  ResolvedElectionOptions,
} from './election-options';
import { refuseUnknownKeys, type KnownKeys } from './option-keys';

const HEALTH_CHECK_OPTION_KEYS: KnownKeys<HealthCheckOptions> = {
  ttl: true,
  standbyTtl: true,
  deregisterCriticalServiceAfter: true,
  serviceName: true,
};
import { ElectionOptionsError } from './election-options.error';
import { ElectionMessages } from '../election.messages';
import { durationIn, MINUTE, HOUR, SECOND } from './option-durations';

/** The per-instance TTL check's options (`healthCheck`), or null when it is turned off (`false`). */
export function resolveHealthCheck(
  option: ElectionOptions['healthCheck'],
  key: string,
): ResolvedElectionOptions['healthCheck'] {
  if (option === false) return null;
  const check = option ?? {};
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
  refuseUnknownKeys(check, HEALTH_CHECK_OPTION_KEYS, 'healthCheck');
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
  return { ttlMs, standbyTtlMs, deregisterCriticalServiceAfterMs, serviceName };
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
