import { EventEmitter } from 'node:events';
import type Consul from 'consul';
import type { ReadKeyRequest } from './consul-port';
import {
  ConsulRequestError,
  bodyText,
  classify,
  isHttpResponse,
  statusError,
} from './consul-request.error';
import { toConsulDuration } from '../time/duration';
import { ElectionMessages } from '../election.messages';

// How the adapter talks to the `consul` npm client: one call, its raw HTTP answer, and the check
// that the answer has the status and shape the operation expects.

export type ConsulClient = InstanceType<typeof Consul>;

/** An HTTP answer from Consul, whatever its status. */
export interface ConsulAnswer {
  readonly status: number;
  readonly index: number;
  readonly body: unknown;
  /** Consul's `Date` header in ms since epoch (1 s resolution), null when absent or unreadable. */
  readonly date?: number | null;
}

/** What the client's calls accept besides their own fields: per-request timeout and context. */
type RequestOptions = { timeout: number; ctx: EventEmitter };

/**
 * Runs one client call and returns Consul's HTTP answer, whatever its status, or throws a
 * classified {@link ConsulRequestError} when there was none (network, timeout, abort).
 */
export async function send(
  operation: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  invoke: (options: RequestOptions) => Promise<unknown>,
): Promise<ConsulAnswer> {
  const ctx = cancellableContext(signal);
  let outcome: unknown;
  try {
    outcome = await invoke({ timeout: timeoutMs, ctx });
  } catch (error) {
    outcome = error;
  } finally {
    ctx.dispose();
  }
  const response = Array.isArray(outcome)
    ? outcome[0]
    : (outcome as { response?: unknown } | undefined)?.response;
  if (isHttpResponse(response)) {
    const index = Number(response.headers['x-consul-index'] ?? 0);
    const body = Array.isArray(outcome) ? outcome[1] : response.body;
    const date = Date.parse(String(response.headers.date ?? ''));
    return {
      status: response.statusCode,
      index: Number.isFinite(index) ? index : 0,
      body,
      date: Number.isFinite(date) ? date : null,
    };
  }
  throw classify(outcome, operation);
}

/** The answer's body when its status is the expected one (and its shape, when a guard is given). */
export function expect<T = unknown>(
  answer: ConsulAnswer,
  operation: string,
  status: number,
  guard?: (body: unknown) => body is T,
): T {
  if (answer.status !== status) throw statusError(answer.status, answer.body, operation);
  if (guard && !guard(answer.body)) {
    // The status Consul gives, with a body Consul never gives (HTML, a proxy's page): whatever
    // answered is no Consul agent, and asking again will not make it one.
    throw new ConsulRequestError(
      'misconfigured',
      operation,
      ElectionMessages.unexpectedAnswer(bodyText(answer.body)),
      answer.status,
    );
  }
  return answer.body as T;
}

/** The query fields of a blocking read: none for a read at once. */
export function blocking(request: ReadKeyRequest): Record<string, string> {
  return request.index
    ? { index: String(request.index), wait: toConsulDuration(request.waitMs ?? 60_000) }
    : {};
}

/** The client cancels a request when its `ctx` emits `cancel`; this ties that to an AbortSignal. */
function cancellableContext(
  signal: AbortSignal | undefined,
): EventEmitter & { includeResponse: true; dispose: () => void } {
  const ctx = Object.assign(new EventEmitter(), {
    includeResponse: true as const,
    dispose: (): void => undefined,
  });
  if (!signal) return ctx;
  const cancel = (): void => {
    ctx.emit('cancel');
  };
  if (signal.aborted) queueMicrotask(cancel);
  else signal.addEventListener('abort', cancel, { once: true });
  ctx.dispose = () => signal.removeEventListener('abort', cancel);
  return ctx;
}
