/**
 * Work that must not overlap, run one after another in the order it was queued: the session's
 * opening and the releases made with it (a release must never race the session it uses).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once everything queued before it has settled; a failure does not stop the queue. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once everything queued so far has settled. */
  idle(): Promise<unknown> {
    return this.tail;
  }
}
