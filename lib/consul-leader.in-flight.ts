/**
 * The `@LeaderOnly` calls still running: what shutdown waits for before it releases the key.
 * A call counts from its start until the promise it returned settles; a synchronous call is over
 * before anything else can run, so it never needs to be waited for.
 */
export class InFlightCalls {
  private readonly pending = new Set<Promise<void>>();

  get size(): number {
    return this.pending.size;
  }

  /** Counts `result` in flight until it settles, when it is a promise (or any thenable). */
  track<T>(result: T): T {
    if (!isThenable(result)) return result;
    // Settled either way so that draining never rejects; the caller still gets `result` itself.
    const settled: Promise<void> = Promise.resolve(result).then(
      () => void this.pending.delete(settled),
      () => void this.pending.delete(settled),
    );
    this.pending.add(settled);
    return result;
  }

  /** Resolves once no call is in flight, including calls that started while it waited. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
