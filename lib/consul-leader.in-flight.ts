import { types } from 'node:util';
import { isObservable, Observable } from 'rxjs';

/** Runs a piece of work in the context it belongs to (the term a `@LeaderOnly` call started in). */
export type RunInContext = <R>(work: () => R) => R;

const inPlace: RunInContext = (work) => work();

/**
 * The `@LeaderOnly` calls still running: what shutdown waits for before it releases the key.
 *
 * A call is counted until the work it returned is over, and the caller gets that work unchanged in
 * behaviour: a promise settles (and fails) as the method's did, a lazy thenable (a knex or Drizzle
 * query builder, a Mongoose query) runs when — and as often as — the caller calls `then`, an
 * Observable does its work when subscribed. Tracking never runs the work itself and never marks
 * a failure as handled. A synchronous call is over before anything else can run.
 */
export class InFlightCalls {
  private readonly pending = new Set<Promise<void>>();

  get size(): number {
    return this.pending.size;
  }

  /**
   * Counts `result` in flight until it is over; returns what the caller should get. `ended`, the
   * signal of the term the call began in: a lazy thenable or an Observable whose work would start
   * only after that term ended (and perhaps after shutdown drained and released the key) is refused
   * with the signal's reason instead of running on an instance that no longer leads.
   */
  track<T>(result: T, context: RunInContext = inPlace, ended?: AbortSignal): T {
    if (result === null || (typeof result !== 'object' && typeof result !== 'function'))
      return result;
    if (types.isPromise(result)) return this.trackPromise(result) as T;
    if (isObservable(result)) return this.trackObservable(result, context, ended) as T;
    if (isThenable(result)) return this.trackThenable(result, context, ended);
    return result;
  }

  /** Resolves once no call is in flight, including calls that started while it waited. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** One unit of work in flight; the returned function ends it (once, however often it is called). */
  private begin(): () => void {
    let end!: () => void;
    const over = new Promise<void>((resolve) => (end = resolve));
    this.pending.add(over);
    return () => {
      this.pending.delete(over);
      end();
    };
  }

  /**
   * Attaching a handler to the method's own promise would mark its rejection as handled, so the
   * caller gets a promise that settles exactly as the method's did: its rejection, unhandled, still
   * reaches `unhandledRejection`; awaited, it rejects with the same error.
   */
  private trackPromise(promise: Promise<unknown>): Promise<unknown> {
    const end = this.begin();
    return promise.then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end();
        throw error;
      },
    );
  }

  /** Counted from subscription until it completes, errors or is unsubscribed. */
  private trackObservable(
    source: Observable<unknown>,
    context: RunInContext,
    ended: AbortSignal | undefined,
  ): Observable<unknown> {
    return new Observable((subscriber) => {
      if (ended?.aborted) {
        subscriber.error(ended.reason);
        return;
      }
      const end = this.begin();
      const subscription = context(() => source.subscribe(subscriber));
      return () => {
        subscription.unsubscribe();
        end();
      };
    });
  }

  /**
   * A lazy thenable executes on each `then`: calling it here as well would run the query twice. The
   * object is returned itself, with its `then` wrapped so that each execution the caller starts is
   * counted until it settles. An object whose `then` cannot be replaced (frozen) is left untracked.
   */
  private trackThenable<T>(
    thenable: T & PromiseLike<unknown>,
    context: RunInContext,
    ended: AbortSignal | undefined,
  ): T {
    const original = thenable.then;
    const track = this.begin.bind(this);
    try {
      Object.defineProperty(thenable, 'then', {
        configurable: true,
        writable: true,
        value: function then(
          this: PromiseLike<unknown>,
          onFulfilled?: ((value: unknown) => unknown) | null,
          onRejected?: ((reason: unknown) => unknown) | null,
        ): PromiseLike<unknown> {
          if (ended?.aborted) return Promise.reject(ended.reason).then(onFulfilled, onRejected);
          const end = track();
          return context(() =>
            original.call(
              this,
              (value) => {
                end();
                return typeof onFulfilled === 'function' ? onFulfilled(value) : value;
              },
              (error: unknown) => {
                end();
                if (typeof onRejected === 'function') return onRejected(error);
                throw error;
              },
            ),
          );
        },
      });
    } catch {
      // Not extensible: the caller still gets the thenable, only shutdown does not wait for it.
    }
    return thenable;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
