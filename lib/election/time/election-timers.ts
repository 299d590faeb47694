import type { Clock, TimerHandle } from './clock';

/** One named timer of a part (the act time, the next confirmation, ...): arming it again replaces it. */
export class TimerSlot {
  private handle: TimerHandle | null = null;

  constructor(private readonly clock: Clock) {}

  get armed(): boolean {
    return this.handle !== null;
  }

  arm(callback: () => void, delayMs: number): void {
    this.clear();
    this.handle = this.clock.setTimer(() => {
      this.handle = null;
      callback();
    }, delayMs);
  }

  clear(): void {
    if (this.handle) this.clock.clearTimer(this.handle);
    this.handle = null;
  }
}

/**
 * The timers of one election, owned by its parts and disposed together at stop: the named slots,
 * one-off callbacks, and the sleeps of its loops (which {@link dispose} wakes at once).
 */
export class ElectionTimers {
  private readonly slots: TimerSlot[] = [];
  private readonly pending = new Set<TimerHandle>();
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  slot(): TimerSlot {
    const slot = new TimerSlot(this.clock);
    this.slots.push(slot);
    return slot;
  }

  /** A one-off callback that {@link dispose} cancels. */
  later(callback: () => void, delayMs: number): TimerHandle {
    const handle = this.clock.setTimer(() => {
      this.pending.delete(handle);
      callback();
    }, delayMs);
    this.pending.add(handle);
    return handle;
  }

  /** Resolves after `ms`, or at once when {@link dispose} comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.later(() => {
        this.sleepers.delete(wake);
        resolve();
      }, ms);
      const wake = (): void => {
        this.clock.clearTimer(handle);
        this.pending.delete(handle);
        resolve();
      };
      this.sleepers.add(wake);
    });
  }

  /** A pause that {@link dispose} does not cut short: for the tries at stop, after disposal. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(resolve, ms));
  }

  /** Wakes every sleep and cancels every timer. */
  dispose(): void {
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    for (const handle of this.pending) this.clock.clearTimer(handle);
    this.pending.clear();
    for (const slot of this.slots) slot.clear();
  }
}
