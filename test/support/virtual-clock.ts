// A clock for state-machine specs of the election: time moves only when the spec says so, so a
// spec can state exact deadlines ("steps down at sent + D, not a millisecond earlier").
import type { Clock, TimerHandle } from '../../lib/election';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

export class VirtualClock implements Clock {
  private current = 0;
  private seq = 0;
  private timers = new Set<Timer>();
  /** How far the wall clock runs ahead of the monotonic one (a suspend moves only the wall clock). */
  private wallAhead = 0;
  /** Timers fire this much before they are due, as Node's may against `performance.now()`. */
  timersFireEarlyBy = 0;

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return Date.UTC(2026, 0, 1) + this.current + this.wallAhead;
  }

  /**
   * The machine sleeps for `ms` (a laptop lid, a paused VM): the wall clock moves on, the monotonic
   * clock (`performance.now()`) does not, and no timer fires.
   */
  suspend(ms: number): void {
    this.wallAhead += ms;
  }

  /** The wall clock is set by `byMs` (an NTP step, an operator's `date -s`); the monotonic one is not. */
  stepWall(byMs: number): void {
    this.wallAhead += byMs;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    // Early, but never at once for a timer that asked for a delay: time must still move.
    const fireIn = delayMs <= 0 ? 0 : Math.max(1, delayMs - this.timersFireEarlyBy);
    const timer: Timer = { at: this.current + fireIn, seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as Timer);
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = [...this.timers]
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers.delete(next);
      this.current = next.at;
      next.callback();
    }
    this.current = target;
    await settle();
  }
}

/** Lets pending promise callbacks (and the ones they queue) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
