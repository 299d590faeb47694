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
