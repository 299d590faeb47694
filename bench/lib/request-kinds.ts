import { txnVerbs, type HttpFaultProxy, type SeenRequest } from '../../harness';

/** What a request to Consul does, as the benchmark counts it. */
export type RequestKind =
  | 'acquire'
  | 'successors-write'
  | 'release'
  | 'confirm'
  | 'txn-other'
  | 'session-create'
  | 'session-renew'
  | 'session-destroy'
  | 'check-register'
  | 'check-pass'
  | 'service-register'
  | 'service-deregister'
  | 'kv-write'
  | 'other-write'
  | 'read';

export interface CountedRequest {
  /** Wall-clock ms when the request arrived (comparable with the children's timestamps). */
  readonly at: number;
  readonly kind: RequestKind;
  readonly method: string;
  readonly path: string;
  /** What the request is about, to tell whose it is: the check id of a check registration, else the path. */
  readonly subject: string;
}

/** Everything but reads changes Consul's state (and goes through Raft for KV and sessions). */
export const isWrite = (kind: RequestKind): boolean => kind !== 'read';

/**
 * The requests that arrived at `proxy` in [from, to) (wall-clock ms), each with its kind, so that a
 * scenario can count what a failover or a minute of steady state costs Consul. The proxy is the
 * harness's HTTP proxy with no fault injected: bodies pass through untouched, and a transaction's
 * body tells an acquire from a confirmation.
 */
export function countedBetween(proxy: HttpFaultProxy, from: number, to: number): CountedRequest[] {
  return proxy.seen
    .map((request) => ({ request, at: performance.timeOrigin + request.at }))
    .filter(({ at }) => at >= from && at < to)
    .map(({ request, at }) => {
      const kind = classifyRequest(request);
      const subject =
        kind === 'check-register'
          ? (checkIdOf(request.body) ?? request.path)
          : request.path === '/v1/txn'
            ? `txn ${txnVerbs(request.body).join(',')}`
            : request.path;
      return { at, kind, method: request.method, path: request.path, subject };
    });
}

export function classifyRequest({ method, path, query, body }: SeenRequest): RequestKind {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (path === '/v1/txn') {
    const verbs = txnVerbs(body);
    // The leader rewriting its successors: a lock by the session that already holds the key.
    if (verbs.includes('lock') && verbs.includes('check-session')) return 'successors-write';
    if (verbs.includes('lock')) return 'acquire';
    if (verbs.includes('unlock')) return 'release';
    if (
      verbs.includes('check-session') &&
      verbs.every((verb) => verb === 'check-session' || verb === 'get' || verb === 'check-index')
    )
      return 'confirm';
    return 'txn-other';
  }
  if (path.startsWith('/v1/kv/')) {
    if (query.has('acquire')) return 'acquire';
    if (query.has('release')) return 'release';
    return 'kv-write';
  }
  if (path === '/v1/session/create') return 'session-create';
  if (path.startsWith('/v1/session/renew/')) return 'session-renew';
  if (path.startsWith('/v1/session/destroy/')) return 'session-destroy';
  if (path === '/v1/agent/check/register') return 'check-register';
  if (path.startsWith('/v1/agent/check/pass/') || path.startsWith('/v1/agent/check/update/'))
    return 'check-pass';
  if (path === '/v1/agent/service/register') return 'service-register';
  if (path.startsWith('/v1/agent/service/deregister/')) return 'service-deregister';
  return 'other-write';
}

function checkIdOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { ID?: string }).ID;
  } catch {
    return undefined;
  }
}

/** Counts by kind, e.g. `{ acquire: 1, read: 51 }`. */
export function countByKind(
  requests: readonly CountedRequest[],
): Partial<Record<RequestKind, number>> {
  const counts: Partial<Record<RequestKind, number>> = {};
  for (const request of requests) counts[request.kind] = (counts[request.kind] ?? 0) + 1;
  return counts;
}
