import { AsyncLocalStorage } from 'node:async_hooks';
import type { LeadershipTerm } from './election';
import type { InFlightCalls } from './consul-leader.in-flight';
import { NO_TERM_OPEN } from './consul-leader.messages';

/**
 * Which term a piece of leader work belongs to. A `@LeaderOnly` call runs inside the term that was
 * open when it started, so `service.signal` and `service.fencingToken` read after an `await` are
 * still that term's — aborted, and the token of the term it fenced with — even when the term has
 * ended or a newer one has begun meanwhile. Outside a call they follow the current term. One per
 * service: several apps (and elections) in one process never see each other's terms.
 */
export class TermContext {
  private readonly storage = new AsyncLocalStorage<LeadershipTerm>();
  /** What `signal` is while no term is open: already aborted, so work that checks it stops. */
  private readonly noTerm = AbortSignal.abort(new Error(NO_TERM_OPEN));

  /** Runs `work` (and everything it awaits or schedules) as part of `term`. */
  run<R>(term: LeadershipTerm | null, work: () => R): R {
    return term ? this.storage.run(term, work) : work();
  }

  /**
   * Runs a `@LeaderOnly` call that began in `term` inside that term's context, and counts the work
   * it returns in flight. Every call enters the context, not only native async functions: async
   * code compiled below ES2017 (`__awaiter`), or a plain method returning a promise chain, reads
   * `signal` and `fencingToken` after an `await` too, and must get its own term's (a wrong fencing
   * token is worse than a slower call). Work it returns to run later — a lazy thenable, an
   * Observable — runs in the context as well, and is refused once the term has ended.
   */
  runCall<T>(term: LeadershipTerm | null, inFlight: InFlightCalls, call: () => T): T {
    const inTerm = <R>(work: () => R): R => this.run(term, work);
    return inTerm(() => inFlight.track(call(), inTerm, term?.signal));
  }

  /** The term of the running `@LeaderOnly` call, else the current one, else null. */
  term(current: LeadershipTerm | null): LeadershipTerm | null {
    return this.storage.getStore() ?? current;
  }

  signal(current: LeadershipTerm | null): AbortSignal {
    return this.term(current)?.signal ?? this.noTerm;
  }

  fencingToken(current: LeadershipTerm | null): number | null {
    return this.term(current)?.fencingToken ?? null;
  }
}
