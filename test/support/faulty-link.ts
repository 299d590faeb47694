// One candidate's HTTP-level link to the Consul model (a ModelTransport under its own NodeConsulPort),
// for writes whose outcome the candidate never learns: each request can be lost before Consul, be
// carried out with its answer lost, or reach Consul late; the whole link can be cut off. A lost
// request or answer surfaces as the client's own timeout after the request's `timeoutMs`, so the
// port classifies it exactly as with a real agent whose Raft commits are slower than requestTimeout.
import {
  cancellable,
  timeoutError,
  type ModelRequest,
  type ModelTransport,
} from './model-consul-client';
import type { VirtualClock } from './virtual-clock';

/**
 * What happens to one request on its way: lost before Consul (`request-lost`); carried out with its
 * answer lost (`answer-lost`, or `{ answerLost: true, then }` where `then` runs right after Consul
 * applied it, before any other answer); or delivered `late` ms after it was sent (a slow commit)
 * and answered then.
 */
export type Fate =
  'request-lost' | 'answer-lost' | { answerLost: true; then?: () => void } | { late: number };

/** Transactions that write (acquire, value rewrite, release); reads and check-only ones pass. */
export const writingTxn = (request: ModelRequest): boolean =>
  request.name === 'Transaction.create' && request.write;

export class FaultyLink implements ModelTransport {
  /** Decides each request's fate when it is sent (null: delivered and answered). */
  fate: ((request: ModelRequest) => Fate | null) | null = null;
  /**
   * Once cut, nothing reaches Consul and no answer comes back, to requests in flight either (those
   * delivered without a fate).
   */
  cut = false;
  /** The client calls sent, by name (`kv.get`, `Transaction.create`, ...), in order. */
  readonly sent: string[] = [];
  /** How many requests met a fate other than delivery. */
  faulted = 0;
  /** The writing transactions sent (acquires, rewrites, releases). */
  writes = 0;

  constructor(private readonly clock: VirtualClock) {}

  send(request: ModelRequest) {
    this.sent.push(request.name);
    if (writingTxn(request)) this.writes += 1;
    const fate = this.fate?.(request) ?? null;
    if (fate) this.faulted += 1;
    return cancellable(request, async () => {
      if (this.cut) return this.timedOut(request);
      if (fate === null) {
        const answer = await request.handle();
        // Cut off while the request was in flight: its answer never arrives either.
        return this.cut ? this.timedOut(request) : answer;
      }
      if (typeof fate === 'object' && 'late' in fate) {
        await this.wait(fate.late);
        return request.handle();
      }
      if (fate !== 'request-lost') {
        await request.handle();
        if (typeof fate === 'object') fate.then?.();
      }
      return this.timedOut(request);
    });
  }

  /** How many requests of this client call were sent. */
  count(name: string): number {
    return this.sent.filter((sent) => sent === name).length;
  }

  /** The client gives up after its timeout, knowing nothing of what Consul did. */
  private async timedOut(request: ModelRequest): Promise<never> {
    await this.wait(request.timeoutMs);
    throw timeoutError(request.name);
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => this.clock.setTimer(resolve, ms));
  }
}
