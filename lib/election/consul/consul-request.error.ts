import { ElectionMessages } from '../election.messages';
import type { ElectionProblemKind } from '../state/leadership-state';

/** A failed Consul request, classified so that the election can decide whether and how to retry. */
export class ConsulRequestError extends Error {
  override readonly name = 'ConsulRequestError';

  constructor(
    /** What went wrong in the election's terms: network, timeout, 5xx, 403, misconfiguration, or anything else. */
    readonly kind: ElectionProblemKind,
    /** Which request, e.g. `'session create'`. */
    readonly operation: string,
    message: string,
    readonly status?: number,
    readonly body?: string,
    options?: { cause?: unknown; node?: string },
  ) {
    super(ElectionMessages.requestFailed(operation, message), options);
    this.node = options?.node;
  }

  /** The agent's node name, when the adapter could learn it for a refused request (ACL messages). */
  readonly node?: string;

  /**
   * Whether the request may have been carried out, or refused, without our hearing of it: no answer
   * came (a timeout, a connection lost) or a 5xx (a server may commit and still fail to answer).
   * A 403 or 429 is Consul's answer that it did not carry it out.
   */
  get outcomeUnknown(): boolean {
    return this.kind === 'timeout' || this.kind === 'unreachable' || this.kind === 'server-error';
  }

  /**
   * Network failures, timeouts, 5xx answers (503: an overloaded server) and 429 (Consul's rate
   * limiter) are transient: Consul may be back in a moment, and a retry with backoff is right.
   */
  get transient(): boolean {
    return (
      this.kind === 'unreachable' ||
      this.kind === 'timeout' ||
      this.kind === 'server-error' ||
      this.kind === 'rate-limited'
    );
  }
}

/** An HTTP response as the `consul` client hands it over (with `includeResponse`). */
export interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

/** What the client (papi) rejects with: a network error, a timeout, or an answer it took for one. */
interface PapiLikeError {
  message?: string;
  isTimeout?: boolean;
  code?: string;
  cause?: { code?: string };
  response?: unknown;
}

export function isHttpResponse(value: unknown): value is HttpResponseLike {
  const candidate = value as Partial<HttpResponseLike> | null | undefined;
  return (
    typeof candidate?.statusCode === 'number' &&
    typeof candidate.headers === 'object' &&
    candidate.headers !== null
  );
}

/** An answer's body as text, whatever the client parsed it into. */
export function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** The error for an HTTP answer whose status the request did not expect. */
export function statusError(status: number, body: unknown, operation: string): ConsulRequestError {
  const text = bodyText(body).trim().slice(0, 500);
  const detail = ElectionMessages.httpStatus(status, text);
  return new ConsulRequestError(statusKind(status, text), operation, detail, status, text);
}

/**
 * What an unexpected status says. A 4xx other than 403 (ACL), 408 (timeout), 409 (a failed txn
 * check, handled by its operation) and 429 (rate limiter) is an answer about the request itself:
 * a 404 from an endpoint Consul always serves means the address is not a Consul agent (Consul
 * answers an unknown path with a bare 404), a 400 a request Consul takes for malformed — both
 * come from the configuration, and retrying them changes nothing. So does a 500 "Invalid Session
 * TTL": the servers' session_ttl_min is above the TTL (DESIGN-NOTES, Consul facts).
 */
function statusKind(status: number, body: string): ElectionProblemKind {
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate-limited';
  if (status === 408) return 'timeout';
  // Recent agents answer a check registration whose service they lost (a restart without state)
  // 404 with Consul's own text: the check is gone, which isUnknownToAgent must still see.
  if (status === 404 && unknownToAgent(status, body)) return 'unexpected';
  if (status >= 400 && status < 500 && status !== 409) return 'misconfigured';
  if (status === 500 && /invalid session ttl/i.test(body)) return 'misconfigured';
  return status >= 500 ? 'server-error' : 'unexpected';
}

/** Maps a failure without an HTTP answer (or any other error) onto the kinds the election reacts to. */
export function classify(error: unknown, operation: string): ConsulRequestError {
  if (error instanceof ConsulRequestError) return error;
  const failure = (error ?? {}) as PapiLikeError;
  const response = failure.response;
  if (isHttpResponse(response)) return statusError(response.statusCode, response.body, operation);
  const message = failure.message ?? String(error);
  const options = { cause: error };
  if (failure.isTimeout || /timed? ?out/i.test(message)) {
    return new ConsulRequestError('timeout', operation, message, undefined, undefined, options);
  }
  const code = failure.code ?? failure.cause?.code;
  const detail = code && !message.includes(code) ? `${message} (${code})` : message;
  return new ConsulRequestError('unreachable', operation, detail, undefined, undefined, options);
}

/**
 * Whether an agent's answer says it does not know a check (or the service it names): 404 on recent
 * agents, whose text names it ({@link CONSUL_UNKNOWN_404}); on 1.8.7 a 500
 * reading `CheckID "…" does not have associated TTL`, `Missing check '…' registration`, `Unknown
 * check "…"` or `ServiceID "…" does not exist`. Only those texts: a 500 such as "ACL not found" says
 * nothing about the check, and taking it for one would make the election abandon a session that
 * still lives (issue 9); a bare 404 is a server that is not Consul (statusKind).
 */
export function unknownToAgent(status: number | undefined, body: string): boolean {
  return (
    (status === 404 && CONSUL_UNKNOWN_404.test(body)) ||
    (status === 500 &&
      /does not exist|missing check|unknown check|does not have associated TTL/i.test(body))
  );
}

/**
 * Consul's 404 texts for what the agent does not know, each naming the id in quotes (agent_endpoint.go
 * on 1.10+): `ServiceID "…" does not exist` (check register), `Unknown check ID "…"` (check update),
 * `Unknown service ID "…"` (deregister). Anchored, so that a web server's "page does not exist" is
 * still no Consul agent.
 */
const CONSUL_UNKNOWN_404 = /^(ServiceID ".*" does not exist|Unknown (check|service) ID ")/i;

/** A request's failure that says the agent does not know the check (see {@link unknownToAgent}). */
export function isUnknownToAgent(error: unknown): boolean {
  return (
    error instanceof ConsulRequestError &&
    error.kind !== 'misconfigured' &&
    unknownToAgent(error.status, error.body ?? error.message)
  );
}
