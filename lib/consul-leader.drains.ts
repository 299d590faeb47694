/**
 * Leader work that the election waits for before it releases its key (at `resign()` and at
 * shutdown), beside the in-flight `@LeaderOnly` calls: the `@ClusterCron` runs, whose outcome must
 * be written while their owner's session still lives — else the next leader records a run that
 * ended well as orphaned (and, with `orphans: 'rerun'`, runs it again). One per election module.
 */
export class LeaderWorkDrains {
  private readonly drains = new Set<() => Promise<unknown>>();

  /** Adds work to wait for; returns its removal. */
  add(drain: () => Promise<unknown>): () => void {
    this.drains.add(drain);
    return () => this.drains.delete(drain);
  }

  /** Settles when every registered work has settled (the election bounds it by `drainTimeout`). */
  async drain(): Promise<void> {
    await Promise.all([...this.drains].map((drain) => drain().catch(() => undefined)));
  }
}
