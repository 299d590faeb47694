/**
 * Bounds on how far Consul's clock is from this process's wall clock, from the `Date` header of
 * Consul's answers (1 s resolution). The agent stamped an answer at some instant between our send
 * and our receipt, and its clock then read within `[date, date + 1 s)`; so
 * `offset = consul − ours ∈ [date − received, date + 1000 − sent]`. Intersecting recent samples
 * narrows it well under a second. Fire times are computed on our clock: a skewed clock makes a
 * fire early or late by the skew, never twice (docs/design/cluster-cron.md, "Skew").
 */
export class ClockOffset {
  private low = -Infinity;
  private high = Infinity;
  private samples = 0;

  /** One answer: our wall clock when the request was sent and when its answer came, and its `Date`. */
  sample(sentWall: number, receivedWall: number, serverDate: number): void {
    const low = serverDate - receivedWall;
    const high = serverDate + DATE_RESOLUTION_MS - sentWall;
    if (low > this.high || high < this.low) {
      // Disjoint from what we knew: one of the clocks jumped. Start again from this sample.
      this.low = low;
      this.high = high;
      this.samples = 1;
      return;
    }
    this.low = Math.max(this.low, low);
    this.high = Math.min(this.high, high);
    this.samples += 1;
  }

  /** The bounds on (Consul − ours) in ms, or null before any sample. */
  bounds(): { readonly low: number; readonly high: number; readonly samples: number } | null {
    return this.samples === 0 ? null : { low: this.low, high: this.high, samples: this.samples };
  }

  /** The offset is surely beyond ±`boundMs` (the whole interval lies outside): the value to warn with, or null. */
  beyond(boundMs: number): number | null {
    if (this.samples === 0) return null;
    if (this.low > boundMs) return this.low;
    if (this.high < -boundMs) return this.high;
    return null;
  }
}

const DATE_RESOLUTION_MS = 1_000;
