// One candidate's HTTP-level link to the Consul model (a ModelTransport under its own NodeConsulPort),
// for writes whose outcome the candidate never learns: each request can be lost before Consul, be
// carried out with its answer lost, or reach Consul late; the whole link can be cut off. A lost
// request or answer surfaces as the client's own timeout after the request's `timeoutMs`, so the
// port classifies it exactly as with a real agent whose Raft commits are slower than requestTimeout.
import type { ModelAnswer } from './consul-model';
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
  | 'request-lost'
  | 'answer-lost'
  | { answerLost: true; then?: () => void }
  | { late: number }
  | { status: number };

/**
 * A proxy's answer instead of Consul's (`{ status }` as a fate): 500 after 1 ms, never reaching
 * Consul, the way a proxy or rate limiter refuses what it will not pass on.
 */
export const refusedWith = (status: number): Fate => ({ status });

/** Transactions that write (acquire, value rewrite, release); reads and check-only ones pass. */
export const writingTxn = (request: ModelRequest): boolean =>
  request.name === 'Transaction.create' && request.write;

/** What the link remembers of each request it was given. */
export type SentRequest = Pick<ModelRequest, 'name' | 'write' | 'blocking'>;

/** Blocking queries (a read with an index > 0): what a proxy that refuses long polls refuses. */
export const blockingRead = (request: SentRequest): boolean => request.blocking;

/** The hold's confirmation: the one read-only transaction, a consistent read. */
export const confirmation = (request: SentRequest): boolean =>
  request.name === 'Transaction.create' && !request.write;

export class FaultyLink implements ModelTransport {
  /** Decides each request's fate when it is sent (null: delivered and answered). */
  fate: ((request: ModelRequest) => Fate | null) | null = null;
  /**
   * Rewrites Consul's answer on its way back (a proxy that drops or rewrites `X-Consul-Index`):
   * `index` undefined is a missing header.
   */
  rewrite: ((request: ModelRequest, answer: ModelAnswer) => ModelAnswer) | null = null;
  /**
   * Virtual ms each answer takes to come back. 0 answers within the same instant, which a loop that
   * never waits on a timer turns into an endless chain of microtasks: a storm needs a latency to show.
   */
  latencyMs = 0;
  /** Each request sent, with when (virtual ms). */
  readonly log: Array<SentRequest & { readonly at: number }> = [];
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
    const { name, write, blocking } = request;
    this.log.push({ name, write, blocking, at: this.clock.now() });
    if (writingTxn(request)) this.writes += 1;
    const fate = this.fate?.(request) ?? null;
    if (fate) this.faulted += 1;
    return cancellable(request, async () => {
      if (this.cut) return this.timedOut(request);
      if (this.latencyMs > 0) await this.wait(this.latencyMs);
      if (fate === null) {
        const answer = await request.handle();
        // Cut off while the request was in flight: its answer never arrives either.
        if (this.cut) return this.timedOut(request);
        return this.rewrite ? this.rewrite(request, answer) : answer;
      }
      if (typeof fate === 'object' && 'status' in fate) {
        await this.wait(1);
        return { status: fate.status, body: 'rpc error making call: refused by proxy' };
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

  /** Requests sent in `[from, to)` (virtual ms) that match `which` (all by default). */
  sentBetween(
    from: number,
    to: number,
    which: (sent: SentRequest) => boolean = () => true,
  ): number {
    return this.log.filter((sent) => sent.at >= from && sent.at < to && which(sent)).length;
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
