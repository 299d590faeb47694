// One checker over a history of what candidates did, independent of what the library believes about
// itself: it sees only actions (a candidate's leader-only work running, with the fencing token it
// carried, at a true time), requests sent, the moments faults healed and the agent forgot its state,
// and what was left in Consul at the end. The simulator feeds it from its samples; a run against
// real processes can feed it from their shared log.

/** A maximal run of one candidate process acting with one fencing token, in true ms. */
export interface ActingInterval {
  /** The process (an instance id and its incarnation: a restart is a new process). */
  readonly process: string;
  readonly fencingToken: number;
  readonly from: number;
  readonly to: number;
  /**
   * Another election's key, for a process that runs several elections on one Consul client: safety
   * and tokens hold per key; liveness and handoffs are judged on the main key (no `key`) only.
   */
  readonly key?: string;
}

export interface History {
  readonly intervals: readonly ActingInterval[];
  /** Per process, the true times of its requests to Consul. */
  readonly requests: ReadonlyMap<string, readonly number[]>;
  /** True times at which Consul forgot everything (a wiped dev agent): tokens may start over. */
  readonly wipes: readonly number[];
  /**
   * How long before its first action a term's token may have been issued (its acquire): a term that
   * acquired before a wipe and first acted after it carries a token of the forgotten history.
   */
  readonly tokenIssuedWithinMs: number;
  /** Liveness: from when a leader is owed (every fault healed and Consul freed the key), and within how long. */
  readonly liveness: {
    readonly owedFrom: number;
    readonly withinMs: number;
    readonly until: number;
  } | null;
  /** Graceful handoffs (a leader resigned or stopped at `at`): another process acts within `withinMs`. */
  readonly handoffs: ReadonlyArray<{
    readonly at: number;
    readonly from: string;
    readonly withinMs: number;
  }>;
  /** Requests per second no process may exceed in any one-second window. */
  readonly maxRequestsPerSecond: number;
  /**
   * The bound of each process whose options (or number of elections) differ from the rest: one
   * process's own renewal cadence and backoff decide its load.
   */
  readonly requestBounds?: ReadonlyMap<string, number>;
  /** Sessions, services and checks of the election still in Consul after every candidate stopped. */
  readonly leftovers: readonly string[];
}

export interface Violation {
  readonly rule: 'safety' | 'tokens' | 'liveness' | 'handoff' | 'load' | 'cleanliness';
  readonly message: string;
}

export function check(history: History): Violation[] {
  return [
    ...checkSafety(history),
    ...checkTokens(history),
    ...checkLiveness(history),
    ...checkHandoffs(history),
    ...checkLoad(history),
    ...checkCleanliness(history),
  ];
}

/** No two processes act at overlapping true times. */
export function checkSafety(history: History): Violation[] {
  const violations: Violation[] = [];
  const sorted = [...history.intervals].sort((a, b) => a.from - b.from);
  for (let i = 0; i < sorted.length; i += 1) {
    for (let j = i + 1; j < sorted.length && sorted[j].from <= sorted[i].to; j += 1) {
      const [a, b] = [sorted[i], sorted[j]];
      if (a.process === b.process || a.key !== b.key) continue;
      violations.push({
        rule: 'safety',
        message: `${a.process} (token ${a.fencingToken}) acted ${fmt(a.from)}–${fmt(a.to)} and ${b.process} (token ${b.fencingToken}) acted ${fmt(b.from)}–${fmt(b.to)}: overlap of ${(Math.min(a.to, b.to) - b.from).toFixed(1)} ms`,
      });
    }
  }
  return violations;
}

/**
 * Successive terms carry strictly increasing tokens. A term is a process with a token; terms are
 * ordered by their first action. The only exception: Consul forgot everything in between — after
 * the earlier term's token was issued (up to `tokenIssuedWithinMs` before its first action).
 */
export function checkTokens(history: History): Violation[] {
  const terms = new Map<string, ActingInterval>();
  for (const interval of history.intervals) {
    const key = `${interval.key ?? ''}#${interval.process}#${interval.fencingToken}`;
    const known = terms.get(key);
    if (!known || interval.from < known.from) terms.set(key, interval);
  }
  const ordered = [...terms.values()].sort((a, b) => a.from - b.from);
  const violations: Violation[] = [];
  // Each key's terms in order of their first action: tokens of different keys are unrelated.
  const lastOfKey = new Map<string | undefined, ActingInterval>();
  for (const next of ordered) {
    const previous = lastOfKey.get(next.key);
    lastOfKey.set(next.key, next);
    if (!previous) continue;
    const issuedFrom = previous.from - history.tokenIssuedWithinMs;
    const wiped = history.wipes.some((at) => at > issuedFrom && at <= next.from);
    if (!wiped && next.fencingToken <= previous.fencingToken) {
      violations.push({
        rule: 'tokens',
        message: `token${next.key ? ` of ${next.key}` : ''} went from ${previous.fencingToken} (${previous.process}, first act ${fmt(previous.from)}) to ${next.fencingToken} (${next.process}, first act ${fmt(next.from)})`,
      });
    }
  }
  return violations;
}

/** After the last fault healed and Consul freed what dead processes held, a leader acts in time. */
export function checkLiveness(history: History): Violation[] {
  const owed = history.liveness;
  if (!owed) return [];
  const deadline = owed.owedFrom + owed.withinMs;
  const intervals = history.intervals.filter((interval) => interval.key === undefined);
  const acted = intervals.some(
    (interval) => interval.to >= owed.owedFrom && interval.from <= deadline,
  );
  if (acted) return [];
  const first = intervals
    .filter((interval) => interval.from > owed.owedFrom)
    .sort((a, b) => a.from - b.from)[0];
  return [
    {
      rule: 'liveness',
      message: `no leader acted within ${owed.withinMs.toFixed(0)} ms of ${fmt(owed.owedFrom)} (first action after it: ${first ? `${first.process} at ${fmt(first.from)}` : `none until ${fmt(owed.until)}`})`,
    },
  ];
}

/** After a graceful resign or stop, the next leader acts within a few requests, not a failover later. */
export function checkHandoffs(history: History): Violation[] {
  return history.handoffs.flatMap((handoff) => {
    const next = history.intervals
      .filter(
        (interval) =>
          interval.key === undefined &&
          interval.process !== handoff.from &&
          interval.from >= handoff.at,
      )
      .sort((a, b) => a.from - b.from)[0];
    if (next && next.from - handoff.at <= handoff.withinMs) return [];
    return [
      {
        rule: 'handoff' as const,
        message: `${handoff.from} left the lead at ${fmt(handoff.at)}; next action ${next ? `by ${next.process} after ${(next.from - handoff.at).toFixed(1)} ms` : 'never'} (bound ${handoff.withinMs.toFixed(0)} ms)`,
      },
    ];
  });
}

/** No process sends more than the bound in any one-second window. */
export function checkLoad(history: History): Violation[] {
  const violations: Violation[] = [];
  for (const [process, times] of history.requests) {
    let start = 0;
    let worst = 0;
    let worstAt = 0;
    for (let end = 0; end < times.length; end += 1) {
      while (times[end] - times[start] >= 1_000) start += 1;
      if (end - start + 1 > worst) {
        worst = end - start + 1;
        worstAt = times[start];
      }
    }
    const bound = history.requestBounds?.get(process) ?? history.maxRequestsPerSecond;
    if (worst > bound) {
      violations.push({
        rule: 'load',
        message: `${process} sent ${worst} requests in one second from ${fmt(worstAt)} (bound ${bound})`,
      });
    }
  }
  return violations;
}

export function checkCleanliness(history: History): Violation[] {
  return history.leftovers.length === 0
    ? []
    : [
        {
          rule: 'cleanliness',
          message: `left in Consul after every candidate stopped: ${history.leftovers.join(', ')}`,
        },
      ];
}

function fmt(ms: number): string {
  return `${(ms / 1_000).toFixed(3)}s`;
}
