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
    /**
     * A resigned leader whose own turn (its resign pause, then last in line by its own succession
     * step) may come before every other running candidate's (a fleet whose steps differ): its own
     * action this long after `at` or later counts as the next leader's.
     */
    readonly mayReturnAfterMs?: number;
  }>;
  /**
   * Requests no process may exceed in any one-second window: the load promise (SAFETY.md, "Load"),
   * from the options that process runs with (one number when they all run with the same).
   */
  readonly maxRequestsPerSecond: number | ((process: string) => number);
  /** Per process, the true times of the requests whose loop is known, by loop. */
  readonly loopRequests?: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  /** Requests no loop may exceed in any one-second window (the same promise, per loop). */
  readonly maxRequestsPerSecondPerLoop?: number | ((process: string) => number);
  /** Sessions, services and checks of the election still in Consul after every candidate stopped. */
  readonly leftovers: readonly string[];
  // What follows, a run against real processes may not know (test/chaos): a rule without its data passes.
  /** Moments a process's clocks stood still while true time ran on (see {@link ClockStop}). */
  readonly clockStops?: readonly ClockStop[];
  /** After a VM pause ends, how long the paused process may still act on a lease from before it. */
  readonly vmPauseActsWithinMs?: number;
  /** Leader work, each run with its term's token and signal. */
  readonly leaderWork?: readonly LeaderWork[];
  /** How late (on the process's own clock) a term's signal may fire after the term's deadline. */
  readonly signalSlackMs?: number;
  /** Every write leader work sent to the fenced sink, in true-time order, accepted or refused. */
  readonly sinkWrites?: readonly SinkWrite[];
  /** Each time the key was free, with every acquire sent while it was. */
  readonly failovers?: readonly Failover[];
  /** The herd bound: at most `maxAttempts` acquires, over all processes, within any `windowMs` of a failover. */
  readonly herd?: { readonly windowMs: number; readonly maxAttempts: number };
  /** What a gracefully stopped process left in Consul the moment its stop() returned. */
  readonly stopLeftovers?: ReadonlyArray<{
    readonly process: string;
    readonly at: number;
    readonly leftovers: readonly string[];
  }>;
  /** What each process published about who leads, and when its link was cut (checker b). */
  readonly published?: PublishedHistory;
}

/**
 * A process's clocks stood still while true time ran on. `suspend`: the monotonic clock stood, the
 * wall clock ran on. `vm-pause`: both stood (a hypervisor paused the VM; the guest's clocks resume
 * where they were).
 */
export interface ClockStop {
  readonly process: string;
  readonly kind: 'suspend' | 'vm-pause';
  readonly from: number;
  to: number;
}

/** Leader work of one term (like a `@LeaderOnly` job): from the term's start until it saw the signal. */
export interface LeaderWork {
  readonly process: string;
  readonly fencingToken: number;
  readonly startedAt: number;
  /** When the work saw its signal aborted and ended (null: it never ran again, e.g. a crash). */
  readonly endedAt: number | null;
  /** True time at which the term's `AbortSignal` fired (null: never). */
  readonly signalAbortedAt: number | null;
  /** The term's last deadline, and the moment the signal fired, on the process's monotonic clock. */
  readonly deadlineMono: number;
  readonly signalAbortedMono: number | null;
  /** The process did not run throughout the term (paused, clocks stopped, catching up, stopped). */
  readonly interrupted: boolean;
}

/** A write of leader work to a store that keeps the highest token it accepted and refuses lower ones. */
export interface SinkWrite {
  readonly process: string;
  readonly fencingToken: number;
  /** When the writing term's work began: which term is newer, whatever the tokens say. */
  readonly termBegan: number;
  readonly at: number;
  readonly accepted: boolean;
}

/** The key free (no session on it) from `from` until an acquire took it at `to` (null: never). */
export interface Failover {
  readonly from: number;
  to: number | null;
  /** Acquires sent while it was free, by any process, with what Consul said (or `unanswered`). */
  readonly attempts: Array<{
    readonly process: string;
    readonly at: number;
    outcome: string;
  }>;
}

/** What processes said about who leads (their published state), for {@link checkPublished}. */
export interface PublishedHistory {
  /** Maximal runs of one answer per process, while the process ran code. */
  readonly runs: ReadonlyArray<{
    readonly process: string;
    readonly leader: string | null;
    readonly token: number | null;
    readonly known: boolean;
    readonly from: number;
    readonly to: number;
  }>;
  /** The times a process's link was cut: from the cut, its first failed request, to the heal. */
  readonly outages: ReadonlyArray<{
    readonly process: string;
    readonly from: number;
    readonly failedAt: number | null;
    readonly to: number | null;
  }>;
  /** After its first failed request in an outage, a process names nobody within this. */
  readonly unknownWithinMs: number;
  /** A connected process names a new leader (or nobody) within this of its first action. */
  readonly settleMs: number;
}

import type { CronRule } from './cron-checker';

export interface Violation {
  readonly rule:
    | 'safety'
    | 'tokens'
    | 'liveness'
    | 'handoff'
    | 'load'
    | 'cleanliness'
    | 'fencing'
    | 'signal'
    | 'herd'
    | 'published-state'
    /** A leak warning Node printed while the seed ran (run.ts). */
    | 'process-warning'
    | CronRule;
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
    ...checkPublished(history),
    ...checkCleanlinessAtStop(history),
    ...checkFencing(history),
    ...checkSignal(history),
    ...checkHerd(history),
  ];
}

/**
 * No two processes act at overlapping true times — except a process right after a VM pause. Both
 * its clocks stood still, so neither shows the pause: its lease, counted from a confirmation sent
 * before it, runs on for what was left of it (up to D) while in true time Consul may long have
 * freed the key and a successor acted. No rule of the lease can see that; only the fencing token
 * can (checkFencing: the sink must refuse every such stale write). A suspend (the wall clock runs
 * on) is no exception: the lease's wall-clock bound ends it.
 */
export function checkSafety(history: History): Violation[] {
  const violations: Violation[] = [];
  const sorted = withoutVmPauseLeases(history).sort((a, b) => a.from - b.from);
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
 * Whether `process` acted at `at` on a lease from before a VM pause: within `vmPauseActsWithinMs`
 * after the pause ended. Neither of its clocks saw the pause, so to it no time had passed: a hold
 * acquired before the pause may even begin its term then (SAFETY.md, "Assumptions"). What it does
 * then is the fencing token's to stop, and the sink's rule checks that it does.
 */
function onLeaseFromBeforeVmPause(history: History, process: string, at: number): boolean {
  return (history.clockStops ?? []).some(
    (stop) =>
      stop.kind === 'vm-pause' &&
      stop.process === process &&
      at >= stop.to &&
      at <= stop.to + (history.vmPauseActsWithinMs ?? 0),
  );
}

/** The acting intervals, less what a process did within `vmPauseActsWithinMs` after a VM pause. */
function withoutVmPauseLeases(history: History): ActingInterval[] {
  const pauses = (history.clockStops ?? []).filter((stop) => stop.kind === 'vm-pause');
  return history.intervals.flatMap((interval) => {
    let pieces = [interval];
    for (const pause of pauses.filter((p) => p.process === interval.process)) {
      const [from, to] = [pause.to, pause.to + (history.vmPauseActsWithinMs ?? 0)];
      pieces = pieces.flatMap((piece) => [
        ...(piece.from < from ? [{ ...piece, to: Math.min(piece.to, from) }] : []),
        ...(piece.to > to ? [{ ...piece, from: Math.max(piece.from, to) }] : []),
      ]);
    }
    return pieces.filter((piece) => piece.from <= piece.to);
  });
}

/**
 * Successive terms carry strictly increasing tokens. A term is a process with a token; terms are
 * ordered by their first action. The only exception: Consul forgot everything in between — after
 * the earlier term's token was issued (up to `tokenIssuedWithinMs` before its first action).
 */
export function checkTokens(history: History): Violation[] {
  const terms = new Map<string, ActingInterval>();
  // A term a VM-paused process began on a hold from before its pause is no successor's term: its
  // token is the old one, and the fencing rule holds the sink to refusing what it writes.
  for (const interval of withoutVmPauseLeases(history)) {
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
          interval.from >= handoff.at &&
          (interval.process !== handoff.from ||
            (handoff.mayReturnAfterMs !== undefined &&
              interval.from - handoff.at >= handoff.mayReturnAfterMs)),
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

/** No process, and no loop whose requests are told apart, sends more than its bound in any second. */
export function checkLoad(history: History): Violation[] {
  const violations: Violation[] = [];
  const over = (who: string, times: readonly number[], bound: number): void => {
    const { count, from } = busiestSecond(times);
    if (count > bound) {
      violations.push({
        rule: 'load',
        message: `${who} sent ${count} requests in one second from ${fmt(from)} (bound ${bound})`,
      });
    }
  };
  for (const [process, times] of history.requests) {
    over(
      process,
      times,
      typeof history.maxRequestsPerSecond === 'number'
        ? history.maxRequestsPerSecond
        : history.maxRequestsPerSecond(process),
    );
  }
  const perLoop = history.maxRequestsPerSecondPerLoop;
  if (perLoop !== undefined) {
    for (const [process, loops] of history.loopRequests ?? []) {
      const bound = typeof perLoop === 'number' ? perLoop : perLoop(process);
      for (const [loop, times] of loops) over(`${process} (${loop})`, times, bound);
    }
  }
  return violations;
}

/** The most requests among `times` (sorted) within any window shorter than one second. */
export function busiestSecond(times: readonly number[]): { count: number; from: number } {
  let start = 0;
  let count = 0;
  let from = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[end] - times[start] >= 1_000) start += 1;
    if (end - start + 1 > count) {
      count = end - start + 1;
      from = times[start];
    }
  }
  return { count, from };
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

/**
 * Published state (issue 18, defect 5): a process that cannot reach Consul names no leader once it
 * has seen a request fail for longer than the bound; and after a settle window, no process names as
 * leader an instance whose term has ended — another has acted with a larger token since — unless its
 * link was cut in that window (the first half of the rule covers it then).
 */
export function checkPublished(history: History): Violation[] {
  const published = history.published;
  if (!published) return [];
  const violations: Violation[] = [];
  const naming = published.runs.filter((run) => run.known && run.leader !== null);
  for (const outage of published.outages) {
    if (outage.failedAt === null) continue;
    const from = onProcessClock(
      history.clockStops ?? [],
      outage.process,
      outage.failedAt,
      published.unknownWithinMs,
    );
    const to = outage.to ?? Number.POSITIVE_INFINITY;
    if (from > to) continue;
    const stale = naming.find(
      (run) => run.process === outage.process && run.to >= from && run.from <= to,
    );
    if (stale) {
      violations.push({
        rule: 'published-state',
        message: `${stale.process}, cut off since ${fmt(outage.from)} (first failed request ${fmt(outage.failedAt)}), named ${stale.leader} (token ${stale.token}) ${fmt(stale.from)}–${fmt(stale.to)}, past the bound of ${published.unknownWithinMs.toFixed(0)} ms`,
      });
    }
  }
  // What processes publish is the main election's (a second election's terms have tokens of their own).
  const intervals = history.intervals.filter((interval) => interval.key === undefined);
  const firstActs = new Map<string, ActingInterval>();
  for (const interval of intervals) {
    const key = `${interval.process}#${interval.fencingToken}`;
    const known = firstActs.get(key);
    if (!known || interval.from < known.from) firstActs.set(key, interval);
  }
  for (const run of naming) {
    for (const acting of intervals) {
      if (run.token === null || acting.fencingToken <= run.token) continue;
      const first = firstActs.get(`${acting.process}#${acting.fencingToken}`)!;
      const from = Math.max(run.from, acting.from, first.from + published.settleMs);
      const to = Math.min(run.to, acting.to);
      if (from > to) continue;
      const cut = published.outages.some(
        (outage) =>
          outage.process === run.process &&
          outage.from <= to &&
          (outage.to ?? Number.POSITIVE_INFINITY) >= first.from,
      );
      if (cut) continue;
      violations.push({
        rule: 'published-state',
        message: `${run.process} named ${run.leader} (token ${run.token}) at ${fmt(from)} while ${acting.process} acted with token ${acting.fencingToken} since ${fmt(first.from)} (settle ${published.settleMs.toFixed(0)} ms)`,
      });
      break;
    }
  }
  return violations;
}

/**
 * When `ms` have passed on `process`'s monotonic clock from true time `from`: the library counts
 * its drop of a stale leader on that clock, which stands through a suspend or a VM pause (the
 * process runs nothing then, nor publishes; seed 1040: suspended 4.3 s within the count).
 */
function onProcessClock(
  stops: readonly ClockStop[],
  process: string,
  from: number,
  ms: number,
): number {
  let end = from + ms;
  const mine = stops.filter((stop) => stop.process === process).sort((a, b) => a.from - b.from);
  for (const stop of mine) {
    if (stop.from >= end) break;
    if (stop.to <= from) continue;
    end += stop.to - Math.max(stop.from, from);
  }
  return end;
}

/**
 * The stopped process's session, service and check are gone the moment its stop() returns: not
 * later, when Consul would reap what a crash leaves (a session's TTL, a critical check).
 */
export function checkCleanlinessAtStop(history: History): Violation[] {
  return (history.stopLeftovers ?? []).map(({ process, at, leftovers }) => ({
    rule: 'cleanliness' as const,
    message: `${process}'s stop() returned at ${fmt(at)} with ${leftovers.join(', ')} still in Consul`,
  }));
}

/**
 * The fenced sink never accepted a write from a term older than one whose write it had already
 * accepted, and never refused one of the newest term (its token must exceed every earlier term's,
 * or the store fences out the leader and lets nobody write). Terms are ordered by when their work
 * began (true time), not by their tokens: the check does not take the tokens' word for which term
 * is newer. A wiped agent starts tokens over (the sink is reset with it): a term that began before
 * a wipe is not compared with one after it, nor a write after a wipe with one the sink accepted before.
 */
export function checkFencing(history: History): Violation[] {
  const violations: Violation[] = [];
  // A term begun on a lease from before a VM pause is not a newer term (onLeaseFromBeforeVmPause).
  const stale = (process: string, began: number): boolean =>
    onLeaseFromBeforeVmPause(history, process, began);
  const starts = (history.leaderWork ?? [])
    .filter((work) => !stale(work.process, work.startedAt))
    .map((work) => work.startedAt);
  let newest: { began: number; write: SinkWrite } | null = null;
  let highest: SinkWrite | null = null;
  let previousAt = Number.NEGATIVE_INFINITY;
  for (const write of history.sinkWrites ?? []) {
    // The sink forgot its highest token with the cluster's history, and with it every newer term
    // it had seen: a reset sink has nothing to refuse an older term's write by (a suspended leader
    // resumed after the wipe, seed 972), so such a write is judged only against writes since.
    if (history.wipes.some((at) => at > previousAt && at <= write.at)) {
      highest = null;
      newest = null;
    }
    previousAt = write.at;
    if (!write.accepted) {
      const newestTerm = !starts.some((at) => at > write.termBegan && at <= write.at);
      // As in checkTokens: the older term's token may have been issued before a wipe it began after.
      const issuedFrom = highest ? highest.termBegan - history.tokenIssuedWithinMs : 0;
      const wiped = history.wipes.some((at) => at > issuedFrom && at <= write.termBegan);
      if (newestTerm && highest && !wiped && !stale(write.process, write.termBegan)) {
        violations.push({
          rule: 'fencing',
          message: `the sink refused ${write.process}'s write with token ${write.fencingToken} at ${fmt(write.at)}, the newest term's (began ${fmt(write.termBegan)}): it had accepted token ${highest.fencingToken} of ${highest.process}'s older term (began ${fmt(highest.termBegan)})`,
        });
      }
      continue;
    }
    if (!highest || write.fencingToken >= highest.fencingToken) highest = write;
    const since = write.termBegan;
    if (newest && since < newest.began) {
      const wiped = history.wipes.some(
        (at) => at > since - history.tokenIssuedWithinMs && at <= newest!.began,
      );
      if (!wiped) {
        violations.push({
          rule: 'fencing',
          message: `the sink accepted ${write.process}'s write with token ${write.fencingToken} (term began ${fmt(since)}) at ${fmt(write.at)}, after it had accepted ${newest.write.process}'s with token ${newest.write.fencingToken} (a newer term, began ${fmt(newest.began)}) at ${fmt(newest.write.at)}`,
        });
      }
      continue;
    }
    if (!newest || since > newest.began) newest = { began: since, write };
  }
  return violations;
}

/**
 * A term's signal fires no later than the term's deadline (on the process's own monotonic clock)
 * plus a timer's lateness, when the process ran throughout: work that watches only its signal then
 * stops no later than the lease. (A process paused across the deadline runs what came due in
 * order when it resumes, its work's next step perhaps before the deadline timer: that gap is the
 * fencing token's to close, SAFETY.md "Assumptions".)
 */
export function checkSignal(history: History): Violation[] {
  const slackMs = history.signalSlackMs ?? 0;
  return (history.leaderWork ?? []).flatMap((work) => {
    if (work.interrupted) return [];
    // Every process stops at the end of a run, and stop() ends the term: a signal never fired is late.
    const lateMs = (work.signalAbortedMono ?? Number.POSITIVE_INFINITY) - work.deadlineMono;
    if (lateMs <= slackMs) return [];
    return [
      {
        rule: 'signal' as const,
        message:
          work.signalAbortedAt === null
            ? `${work.process}'s term (token ${work.fencingToken}, work from ${fmt(work.startedAt)}) signal never fired`
            : `${work.process}'s term (token ${work.fencingToken}) signal fired at ${fmt(work.signalAbortedAt)}, ${lateMs.toFixed(1)} ms past its deadline on its own clock (slack ${slackMs} ms)`,
      },
    ];
  });
}

/**
 * Ordered succession (succession.ts): when the key falls free, rank k tries only k × successionStep
 * after rank 0, and only while it is still free, so a failover costs one acquire however many
 * candidates wait. Within any `windowMs` of a failover only a few acquires may go out over all
 * processes (candidates unnamed by the last holder may share a hash slot; one may retry after an
 * error): a herd is many at once.
 */
export function checkHerd(history: History): Violation[] {
  if (!history.herd) return [];
  const { windowMs, maxAttempts } = history.herd;
  return (history.failovers ?? []).flatMap((failover) => {
    const times = failover.attempts.map((attempt) => attempt.at).sort((a, b) => a - b);
    let worst = 0;
    let worstAt = 0;
    for (let end = 0, start = 0; end < times.length; end += 1) {
      while (times[end] - times[start] >= windowMs) start += 1;
      if (end - start + 1 > worst) [worst, worstAt] = [end - start + 1, times[start]];
    }
    if (worst <= maxAttempts) return [];
    const burst = failover.attempts.filter(
      (attempt) => attempt.at >= worstAt && attempt.at < worstAt + windowMs,
    );
    return [
      {
        rule: 'herd' as const,
        message: `${worst} acquires within ${windowMs.toFixed(0)} ms of the failover from ${fmt(failover.from)} (bound ${maxAttempts}): ${burst.map((a) => `${a.process} at ${fmt(a.at)} ${a.outcome}`).join(', ')}`,
      },
    ];
  });
}

function fmt(ms: number): string {
  return `${(ms / 1_000).toFixed(3)}s`;
}
