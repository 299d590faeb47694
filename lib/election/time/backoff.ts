import { ConsulRequestError } from '../consul/consul-request.error';

/**
 * How often a misconfigured request is tried again: a wrong address or a refused TTL does not heal
 * in a moment, but an operator may fix the cluster (session_ttl_min) without restarting the app.
 */
export const MISCONFIGURED_RETRY_MS = 30_000;

/**
 * No retry comes sooner than this after the failure it follows, whatever `retry.initialDelay`
 * (down to 10 ms) says: with full jitter a delay can fall to its floor at every attempt, and the
 * load promise (SAFETY.md, "Load") counts on at most 4 retries a second in any loop.
 */
export const MIN_RETRY_INTERVAL_MS = 250;

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
    /** The shortest delay, whatever the jitter draws (by default half the initial delay). */
    private readonly floorMs: number = initialDelayMs / 2,
  ) {}

  /** The election's retries (`retry` option), never sooner than {@link MIN_RETRY_INTERVAL_MS}. */
  static forRetries(retry: {
    readonly initialDelayMs: number;
    readonly maxDelayMs: number;
  }): Backoff {
    return new Backoff(
      retry.initialDelayMs,
      Math.max(retry.maxDelayMs, MIN_RETRY_INTERVAL_MS),
      Math.random,
      Math.max(retry.initialDelayMs / 2, MIN_RETRY_INTERVAL_MS),
    );
  }

  /** The delay before the next try; grows with each call until {@link reset}. */
  next(): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const draw = this.random();
    const delay = ceiling * draw;
    // A draw under the floor lands jittered above it, not on it: a floor that caught every small
    // draw had candidates that failed together retry together, in lockstep at the floor (simulator
    // seed 5695: four acquires within 4 ms, every 250 ms, through a burst of 429s).
    return delay >= this.floorMs ? delay : this.floorMs * (1 + draw);
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
