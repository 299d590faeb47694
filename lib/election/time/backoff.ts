import { ConsulRequestError } from '../consul/consul-request.error';

/**
 * How often a misconfigured request is tried again: a wrong address or a refused TTL does not heal
 * in a moment, but an operator may fix the cluster (session_ttl_min) without restarting the app.
 */
export const MISCONFIGURED_RETRY_MS = 30_000;

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

  /**
   * The delay after a failed request: a 403 will not heal by itself soon, so the longest one, not a
   * tight loop; a misconfiguration not before someone changes the configuration, so slower still.
   */
  nextAfter(error: unknown): number {
    if (!(error instanceof ConsulRequestError)) return this.next();
    if (error.kind === 'misconfigured') return Math.max(this.maxDelayMs, MISCONFIGURED_RETRY_MS);
    return error.kind === 'forbidden' ? this.maxDelayMs : this.next();
  }

  reset(): void {
    this.attempt = 0;
  }
}
