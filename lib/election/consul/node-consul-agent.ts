import type {
  CandidateService,
  CandidatesRead,
  ReadCandidatesRequest,
  TtlCheck,
} from './consul-port';
import { bodyText, unknownToAgent } from './consul-request.error';
import { toConsulDuration } from '../time/duration';
import { blocking, expect, send, type ConsulClient } from './node-consul-transport';

// The agent and catalog operations of NodeConsulPort: this instance's service with its TTL check, and
// the passing candidates of a service.

interface RawServiceEntry {
  Service?: { ID: string; Meta?: Record<string, string> | null; CreateIndex?: number };
}

export async function registerService(
  client: ConsulClient,
  service: CandidateService,
  timeoutMs: number,
): Promise<void> {
  const answer = await send('service register', timeoutMs, undefined, (options) =>
    client.agent.service.register({
      id: service.id,
      name: service.name,
      meta: service.meta,
      ...(service.check && {
        check: {
          checkid: service.check.id,
          name: service.check.name,
          ttl: toConsulDuration(service.check.ttlMs),
          status: 'passing',
          deregistercriticalserviceafter: toConsulDuration(
            service.check.deregisterCriticalServiceAfterMs,
          ),
        },
      }),
      ...options,
    } as never),
  );
  expect(answer, 'service register', 200);
}

export async function registerTtlCheck(
  client: ConsulClient,
  check: TtlCheck,
  timeoutMs: number,
): Promise<void> {
  const answer = await send('check register', timeoutMs, undefined, (options) =>
    client.agent.check.register({
      id: check.id,
      name: check.name,
      serviceid: check.serviceId,
      ttl: toConsulDuration(check.ttlMs),
      status: 'passing',
      deregistercriticalserviceafter: toConsulDuration(check.deregisterCriticalServiceAfterMs),
      ...options,
    } as never),
  );
  expect(answer, 'check register', 200);
}

export async function readCandidates(
  client: ConsulClient,
  serviceName: string,
  request: ReadCandidatesRequest,
): Promise<CandidatesRead> {
  const answer = await send('candidates read', request.timeoutMs, request.signal, (options) =>
    client.health.service({
      service: serviceName,
      passing: !request.includeCritical,
      ...blocking(request),
      ...options,
    } as never),
  );
  const entries = expect(answer, 'candidates read', 200, (body): body is RawServiceEntry[] =>
    Array.isArray(body),
  );
  const candidates = entries.flatMap((entry) => {
    const meta = entry.Service?.Meta;
    const instanceId = meta?.['instance-id'];
    if (!instanceId) return [];
    const leaderKey = meta?.['leader-key'] ?? null;
    const leaseMs = Number(meta?.['lease-ms']);
    return [
      {
        instanceId,
        leaderKey,
        createIndex: entry.Service?.CreateIndex ?? 0,
        leaseMs: Number.isFinite(leaseMs) && leaseMs > 0 ? leaseMs : null,
      },
    ];
  });
  return { candidates, index: answer.index };
}

export async function passCheck(
  client: ConsulClient,
  checkId: string,
  timeoutMs: number,
): Promise<'passed' | 'not-found'> {
  const answer = await send('check update', timeoutMs, undefined, (options) =>
    client.agent.check.pass({ id: checkId, ...options } as never),
  );
  if (unknownToAgent(answer.status, bodyText(answer.body))) return 'not-found';
  expect(answer, 'check update', 200);
  return 'passed';
}

export async function deregisterService(
  client: ConsulClient,
  serviceId: string,
  timeoutMs: number,
): Promise<void> {
  const answer = await send('service deregister', timeoutMs, undefined, (options) =>
    client.agent.service.deregister({ id: serviceId, ...options } as never),
  );
  if (answer.status === 404) return;
  expect(answer, 'service deregister', 200);
}

/**
 * The agent's node name, from the checks it runs (every one carries it), or null when the token may
 * read none. Asked only after Consul refused a request by ACL, so that the message can name the node
 * its `session` rule must allow: `/v1/agent/self` would need `agent:read`, which the election's
 * policy does not grant.
 */
export async function agentNode(client: ConsulClient, timeoutMs: number): Promise<string | null> {
  const answer = await send('agent checks', timeoutMs, undefined, (options) =>
    client.agent.check.list({ ...options } as never),
  );
  if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) return null;
  for (const check of Object.values(answer.body as Record<string, { Node?: unknown }>)) {
    if (typeof check?.Node === 'string' && check.Node) return check.Node;
  }
  return null;
}
