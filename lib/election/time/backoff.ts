import { ConsulRequestError } from '../consul/consul-request.error';

/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): many candidates that lost Consul at the same moment do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next try; grows with each call until {@link reset}. */
  next(): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.max(this.initialDelayMs / 2, ceiling * this.random());
  }

  /** The delay after a failed request: a 403 will not heal by itself soon, so the longest one, not a tight loop. */
  nextAfter(error: unknown): number {
    return error instanceof ConsulRequestError && error.kind === 'forbidden'
      ? this.maxDelayMs
      : this.next();
  }

  reset(): void {
    this.attempt = 0;
  }
}
