import type { ConsulPort } from '../consul/consul-port';
import { ConsulRequestError, isUnknownToAgent } from '../consul/consul-request.error';
import type { ResolvedElectionOptions } from '../options/election-options';
import { ElectionMessages } from '../election.messages';

/** How fast Consul should notice this instance die: slowly while it waits, quickly while it leads. */
export type CheckMode = 'standby' | 'leading';

/**
 * Registers this candidate's service with its TTL check, and makes the check pass, so that a session
 * can bind to it (Consul refuses a session bound to a critical check).
 */
export async function registerCandidate(
  port: ConsulPort,
  options: ResolvedElectionOptions,
  serviceId: string,
  checkId: string,
): Promise<void> {
  const { key, healthCheck, requestTimeoutMs, instanceId, leaseDurationMs } = options;
  // The check comes in the same request as the service: one that arrives after its deregister
  // (a request that timed out during a partition and was applied later) turns critical and is
  // reaped, where a service registered alone would stay in the catalog with no check.
  const { serviceId: _serviceId, ...check } = checkDefinition(
    options,
    serviceId,
    checkId,
    'standby',
  );
  await port.registerService(
    {
      id: serviceId,
      name: healthCheck!.serviceName,
      // Its lease, for a candidate that takes the key absent: it waits out the longest lease of the
      // key's candidates, since the holder before it may have written its own into a value it
      // never saw (SAFETY.md, rule 2).
      meta: { 'leader-key': key, 'instance-id': instanceId, 'lease-ms': String(leaseDurationMs) },
      check,
    },
    requestTimeoutMs,
  );
  // A re-registered TTL check gets back the state the agent persisted for it (critical after a
  // partition) whatever status the registration asks for; only an update makes it pass, and a
  // session can only bind to a passing check.
  if ((await port.passCheck(checkId, requestTimeoutMs)) === 'not-found')
    throw noLocalAgent('check update');
}

export function checkDefinition(
  options: ResolvedElectionOptions,
  serviceId: string,
  checkId: string,
  mode: CheckMode,
) {
  const healthCheck = options.healthCheck!;
  return {
    id: checkId,
    name: `leader candidate for ${options.key}`,
    serviceId,
    ttlMs: mode === 'leading' ? healthCheck.ttlMs : healthCheck.standbyTtlMs,
    deregisterCriticalServiceAfterMs: healthCheck.deregisterCriticalServiceAfterMs,
  };
}

function noLocalAgent(operation: string): ConsulRequestError {
  return new ConsulRequestError(
    'no-local-agent',
    operation,
    ElectionMessages.checkRegisteredElsewhere,
  );
}

/** Runs a request of the session's opening, turning "unknown to this agent" into the no-local-agent error. */
export async function unlessUnknownToAgent<T>(
  operation: string,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw isUnknownToAgent(error) ? noLocalAgent(operation) : error;
  }
}
