import type { ElectionProblemKind } from './leadership-state';

/** A failed Consul request, classified so that the election can decide whether and how to retry. */
export class ConsulRequestError extends Error {
  override readonly name = 'ConsulRequestError';

  constructor(
    /** What went wrong in the election's terms: network, timeout, 5xx, 403, or anything else. */
    readonly kind: ElectionProblemKind,
    /** Which request, e.g. `'session create'`. */
    readonly operation: string,
    message: string,
    readonly status?: number,
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super(`Consul ${operation} failed: ${message}`, options);
  }

  /** Network failures, timeouts and 5xx answers are transient: Consul may be back in a moment. */
  get transient(): boolean {
    return this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'server-error';
  }
}
