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

  now(): number {
    return this.current;
  }

  wallTime(): Date {
    return new Date(Date.UTC(2026, 0, 1) + this.current);
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer: Timer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, callback };
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
