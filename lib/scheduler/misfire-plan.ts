import type { FireSchedule } from './fire-times';

/**
 * What to do with fires that had no owner on time (a failover, every instance down):
 * - `skip`: missed fires are skipped; only a fire on time runs;
 * - `run-once`: the latest due fire runs, late if need be; earlier ones are skipped;
 * - `catchUp`: the latest `n` due fires not older than `withinMs` run, oldest first.
 */
export type MisfirePolicy =
  'skip' | 'run-once' | { readonly catchUp: number; readonly withinMs: number };

export interface FirePlan {
  /** Fires to claim and run, oldest first. */
  readonly run: readonly number[];
  /** Fires to record as skipped for `misfire`, oldest first (at most {@link LISTED_SKIPS}). */
  readonly skipped: readonly number[];
  /** Skipped fires before those listed, counted but not listed (a lower bound when not `exact`). */
  readonly skippedUnlisted: number;
  readonly exact: boolean;
}

/** Skipped fires listed one by one (each logged); earlier ones are logged as one count. */
export const LISTED_SKIPS = 100;

/**
 * The plan for the fires in `(decidedThrough, now]`. A fire is on time when `now − T ≤ graceMs`
 * (a timer fires a little late; a claim takes a round trip); older ones were missed.
 */
export function planFires(
  schedule: FireSchedule,
  decidedThrough: number,
  now: number,
  policy: MisfirePolicy,
  graceMs: number,
): FirePlan {
  const runCap = typeof policy === 'object' ? Math.max(1, policy.catchUp) : 1;
  const due = schedule.between(decidedThrough, now, runCap + LISTED_SKIPS);
  const times = due.times;
  let run: number[];
  if (policy === 'skip') {
    const latest = times.at(-1);
    run = latest !== undefined && now - latest <= graceMs ? [latest] : [];
  } else if (policy === 'run-once') {
    run = times.slice(-1);
  } else {
    run = times.filter((t) => now - t <= Math.max(policy.withinMs, graceMs)).slice(-runCap);
  }
  const first = run[0] ?? Infinity;
  // `run` is a suffix of the due fires: everything before it is skipped.
  const skipped = times.filter((t) => t < first);
  const listed = skipped.slice(-LISTED_SKIPS);
  return {
    run,
    skipped: listed,
    skippedUnlisted: due.earlier + skipped.length - listed.length,
    exact: due.exact,
  };
}
