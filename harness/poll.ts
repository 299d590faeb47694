/** Resolves after `ms`. For pacing a loop or a measuring window; to wait for a state, poll for it. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface PollOptions {
  /** Default 15 s. */
  readonly timeoutMs?: number;
  /** Between two probes; default 20 ms. */
  readonly intervalMs?: number;
  /** Checked before each probe: a reason to give up at once (the process being waited on died). */
  readonly abort?: () => string | undefined;
  /** What was last seen, for the timeout's message. */
  readonly lastSeen?: () => string;
}

/**
 * Probes until `probe` returns something other than `undefined` or `false`, and resolves with it;
 * throws, naming `what` and the time waited, once `timeoutMs` has passed. The one poll-with-deadline
 * of the tests, the benchmarks, the demo and the harness: none of them sleeps to wait for a state.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: number | PollOptions = {},
): Promise<T> {
  const {
    timeoutMs = 15_000,
    intervalMs = 20,
    abort,
    lastSeen,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const aborted = abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) {
      const last = lastSeen ? ` (last: ${lastSeen()})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await delay(intervalMs);
  }
}
