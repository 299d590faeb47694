/**
 * Time as the election sees it. Deadlines use a monotonic clock so that wall-clock jumps (NTP,
 * a user changing the date) can neither extend nor cut a lease; tests drive a virtual one.
 */
export interface Clock {
  /** Monotonic milliseconds (`performance.now()` base). */
  now(): number;
  /**
   * Wall-clock milliseconds (`Date.now()` base): for values shown to people (`since`, `startedAt`),
   * and as the lease's second clock, which keeps counting while the machine is suspended.
   */
  wallNow(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
