/** A moment read on both of this process's clocks. */
export interface Instant {
  /** Monotonic milliseconds (`performance.now()`). */
  readonly mono: number;
  /** Wall-clock milliseconds (`Date.now()`). */
  readonly wall: number;
}

/** Now, on both clocks of `clock`. */
export function instantOf(clock: { now(): number; wallNow(): number }): Instant {
  return { mono: clock.now(), wall: clock.wallNow() };
}

/**
 * The leader's own deadline. It may act only while `now < sentAt + duration`, where `sentAt` is the
 * moment at which it *sent* the last request that Consul answered with proof of its hold.
 * Counting from the send time (not the answer) keeps the bound valid however long the answer took:
 * Consul cannot have invalidated the hold before it processed a request that confirmed it.
 *
 * The duration is counted on both clocks and the lease ends when either says it has passed. The
 * monotonic clock is immune to wall-clock steps, but it stands still while the machine is suspended
 * (a laptop lid, a paused VM), when real time — and the successor's wait — goes on; the wall clock
 * keeps counting through a suspend. A wall clock stepped forward ends the lease early, which is safe;
 * one stepped back cannot extend it, since the monotonic bound still holds.
 *
 * Both bounds count from the same confirmation: the one sent last by the monotonic clock. Taking the
 * larger wall-clock bound instead would keep one from before a wall clock stepped back for the rest
 * of the term (minutes ahead of the clock), and a later suspend would then show on neither clock
 * (simulator seed 12560: 319 ms of acting after a 4 s suspend).
 */
export class Lease {
  private monoUntil: number;
  private wallUntil: number;
  /** The monotonic send time of the confirmation both bounds count from. */
  private sentMono: number;

  constructor(
    private readonly durationMs: number,
    firstConfirmationSent: Instant,
  ) {
    this.sentMono = firstConfirmationSent.mono;
    this.monoUntil = firstConfirmationSent.mono + durationMs;
    this.wallUntil = firstConfirmationSent.wall + durationMs;
  }

  /** Records a confirmation sent at `sent`; answers that arrive out of order never shorten or reorder it. */
  confirm(sent: Instant): void {
    if (sent.mono < this.sentMono) return;
    this.sentMono = sent.mono;
    this.monoUntil = sent.mono + this.durationMs;
    this.wallUntil = sent.wall + this.durationMs;
  }

  /** The monotonic deadline (the wall-clock bound may end the lease sooner, see {@link isValidAt}). */
  get deadline(): number {
    return this.monoUntil;
  }

  /** Two numbers, not an {@link Instant}: `isLeader()` asks this on every `@LeaderOnly` call. */
  isValidAt(mono: number, wall: number): boolean {
    return mono < this.monoUntil && wall < this.wallUntil;
  }

  /** Milliseconds until the lease ends by either clock; 0 when it has. */
  remainingAt(now: Instant): number {
    return Math.max(0, Math.min(this.monoUntil - now.mono, this.wallUntil - now.wall));
  }
}
