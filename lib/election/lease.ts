/**
 * The leader's own deadline. It may act only while `now < sentAt + duration`, where `sentAt` is the
 * monotonic time at which it *sent* the last request that Consul answered with proof of its hold.
 * Counting from the send time (not the answer) keeps the bound valid however long the answer took:
 * Consul cannot have invalidated the hold before it processed a request that confirmed it.
 */
export class Lease {
  private confirmedUntil: number;

  constructor(
    private readonly durationMs: number,
    firstConfirmationSentAt: number,
  ) {
    this.confirmedUntil = firstConfirmationSentAt + durationMs;
  }

  /** Records a confirmation sent at `sentAt`; answers that arrive out of order never shorten or reorder it. */
  confirm(sentAt: number): void {
    this.confirmedUntil = Math.max(this.confirmedUntil, sentAt + this.durationMs);
  }

  get deadline(): number {
    return this.confirmedUntil;
  }

  isValidAt(now: number): boolean {
    return now < this.confirmedUntil;
  }
}
