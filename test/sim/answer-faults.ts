// Faults in what Consul's answers say rather than whether they arrive (issue 18): an `X-Consul-Index`
// of 0, missing, gone backwards or far ahead (a proxy that drops or rewrites the header, a restore);
// only the blocking reads refused (a proxy or rate limiter that will not hold long polls); every
// other request refused (a round-robin over one bad agent); a status burst on one endpoint only.
import type { ModelAnswer } from '../support/consul-model';
import type { ModelRequest } from '../support/model-consul-client';

export type IndexFault = 'zero' | 'missing' | 'backwards' | 'far-ahead';

/** What a proxy in front of Consul does to this process's answers right now (set and cleared by faults). */
export class AnswerFaults {
  /** How `X-Consul-Index` is rewritten on the answers that carry one. */
  index: IndexFault | null = null;
  /** Blocking queries (index > 0) are answered with this status, without reaching Consul. */
  failBlocking: number | null = null;
  /** Every other request is answered with this status, without reaching Consul. */
  alternate: number | null = null;
  /** Requests of this client call are answered with this status, without reaching Consul. */
  burst: { readonly endpoint: string; readonly status: number } | null = null;
  private refuseNext = false;

  /** The status the proxy answers instead of passing `request` on, or null to pass it on. */
  refusal(request: ModelRequest): number | null {
    if (this.burst?.endpoint === request.name) return this.burst.status;
    if (this.failBlocking !== null && request.blocking) return this.failBlocking;
    if (this.alternate !== null) {
      this.refuseNext = !this.refuseNext;
      if (!this.refuseNext) return this.alternate;
    }
    return null;
  }

  /** Consul's answer as it reaches the process. */
  rewrite(answer: ModelAnswer): ModelAnswer {
    if (this.index === null || answer.index === undefined) return answer;
    switch (this.index) {
      case 'zero':
        return { ...answer, index: 0 };
      case 'missing':
        return { ...answer, index: undefined };
      case 'backwards':
        return { ...answer, index: Math.max(1, Math.floor(answer.index / 2)) };
      case 'far-ahead':
        return { ...answer, index: answer.index + 1_000_000 };
    }
  }

  clear(): void {
    this.index = null;
    this.failBlocking = null;
    this.alternate = null;
    this.burst = null;
  }
}
