// The ledger checker of the ClusterCron jobs of a chaos run, over the shared log (candidate-jobs.ts
// writes it). The rules are the simulator's ledger rules (issue 19, "Proof"):
//   once      no (job, T) started twice, except an orphan's opt-in re-run (attempt + 1, larger token);
//   tokens    per job, tokens grow with (T, attempt): a fenced sink fed in claim order never sees a
//             stale one (and the sink replayed in true time counts the stale starts it refuses);
//   accounted every fire T between the first and the last decided one was started, skipped with a
//             reason, or recorded orphaned (a skip summary covers as many as it counts);
//   overlap   a job with overlap 'skip' never has two runs doing work at once (a run is its work
//             steps, each taken only after its signal said not aborted, dated like an action step).
// A wiped agent (agent-restart in the acl-agent world) loses the records: as for the election's
// tokens (lib/election/SAFETY.md), `once` and `tokens` compare only fires started on the same side
// of a wipe, and `accounted` owes nothing from a wipe until the first fire decided after it.
import type { ChaosJobSpec } from './candidate-jobs';
import type { ChaosRecord, FireRecord, OrphanRecord, SkipRecord, WorkRecord } from './chaos-log';

export interface CronLedgerInput {
  readonly records: readonly ChaosRecord[];
  readonly jobs: readonly ChaosJobSpec[];
  /** Monotonic ms of each wipe of the store. */
  readonly wipes: readonly number[];
  /** Wall ms − monotonic ms on this machine: dates a wipe on the fire times' clock. */
  readonly wallOffsetMs: number;
}

export interface CronViolation {
  readonly rule: 'cron-once' | 'cron-tokens' | 'cron-accounted' | 'cron-overlap';
  readonly message: string;
}

export interface JobLedgerStats {
  readonly started: number;
  readonly reruns: number;
  readonly skipped: Record<string, number>;
  readonly orphaned: number;
  /** Fires missing from the log that a leader killed around their time decided without logging. */
  readonly unloggedAtKill: number;
  readonly staleStartsRefusedBySink: number;
  /** Work steps taken while the signal was not aborted yet `isLeader()` said no. */
  readonly stepsPastLeadership: number;
  readonly lagMs: { p50: number | null; p99: number | null; max: number | null };
}

export interface CronLedgerResult {
  readonly violations: CronViolation[];
  readonly jobs: Record<string, JobLedgerStats>;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

export function checkCronLedger(input: CronLedgerInput): CronLedgerResult {
  const violations: CronViolation[] = [];
  const jobs: Record<string, JobLedgerStats> = {};
  const wipes = [...input.wipes].sort((a, b) => a - b);
  /** Which side of the wipes a monotonic moment is on. */
  const epochOf = (t: number): number => wipes.filter((w) => w <= t).length;
  // Each process's last line, its last leader action, and whether it stopped gracefully.
  const lives = new Map<string, { last: number; lastAct: number; stopped: boolean }>();
  for (const r of input.records) {
    const life = lives.get(r.p) ?? { last: -Infinity, lastAct: -Infinity, stopped: false };
    const t = 't' in r ? r.t : r.t1;
    life.last = Math.max(life.last, t);
    if (r.k === 'act') life.lastAct = Math.max(life.lastAct, r.t1);
    if (r.k === 'stopped') life.stopped = true;
    lives.set(r.p, life);
  }
  const diedLeadingNear = (dueAt: number): boolean =>
    [...lives.values()].some(
      (life) =>
        !life.stopped &&
        life.last >= dueAt - 1_000 &&
        life.last <= dueAt + 2_000 &&
        life.lastAct >= life.last - 1_000,
    );
  for (const spec of input.jobs) {
    const of = <K extends ChaosRecord['k']>(k: K) =>
      input.records.filter(
        (r): r is Extract<ChaosRecord, { k: K }> => r.k === k && 'job' in r && r.job === spec.name,
      );
    const fires = of('fire') as FireRecord[];
    const skips = of('skip') as SkipRecord[];
    const orphans = of('orphan') as OrphanRecord[];
    const steps = of('work') as WorkRecord[];
    const v = (rule: 'once' | 'tokens' | 'accounted' | 'overlap', message: string): void => {
      violations.push({ rule: `cron-${rule}`, message: `${spec.name}: ${message}` });
    };

    // once
    const byFire = new Map<string, FireRecord[]>();
    for (const fire of fires) {
      const id = `${epochOf(fire.t)}|${fire.T}`;
      byFire.set(id, [...(byFire.get(id) ?? []), fire]);
    }
    for (const starts of byFire.values()) {
      if (starts.length < 2) continue;
      const sorted = [...starts].sort((a, b) => a.att - b.att);
      const rerunsOk =
        spec.orphans === 'rerun' &&
        sorted.every((s, i) => i === 0 || (s.att > sorted[i - 1].att && s.tok > sorted[i - 1].tok));
      if (!rerunsOk) {
        v(
          'once',
          `T ${new Date(starts[0].T).toISOString()} started ${starts.length} times: ${starts
            .map((s) => `${s.p} token ${s.tok} attempt ${s.att}`)
            .join(', ')}`,
        );
      }
    }

    // tokens: in claim order ((T, attempt) within an epoch), each token larger than the one before.
    const claimOrder = [...fires].sort(
      (a, b) => epochOf(a.t) - epochOf(b.t) || a.T - b.T || a.att - b.att,
    );
    for (let i = 1; i < claimOrder.length; i += 1) {
      const [before, after] = [claimOrder[i - 1], claimOrder[i]];
      if (epochOf(before.t) !== epochOf(after.t)) continue;
      if (after.tok <= before.tok) {
        v(
          'tokens',
          `T ${new Date(after.T).toISOString()} (${after.p}) has token ${after.tok}, not above ${before.tok} of T ${new Date(before.T).toISOString()} (${before.p})`,
        );
      }
    }
    // The fenced sink in true time: a start whose token is below one it accepted is refused.
    let stale = 0;
    let highest = 0;
    let epoch = 0;
    for (const fire of [...fires].sort((a, b) => a.t - b.t)) {
      if (epochOf(fire.t) !== epoch) [epoch, highest] = [epochOf(fire.t), 0];
      if (fire.tok < highest) stale += 1;
      else highest = fire.tok;
    }

    // accounted: every T of the schedule between the first and last decided is in the ledger.
    const decided = new Set<number>([
      ...fires.map((f) => f.T),
      ...orphans.map((o) => o.T),
      ...skips.flatMap((s) => (s.T === null ? [] : [s.T])),
    ]);
    const summarized = skips.reduce((n, s) => n + (s.T === null ? s.n : 0), 0);
    const times = [...decided].sort((a, b) => a - b);
    const wallWipes = wipes.map((w) => w + input.wallOffsetMs);
    const holes: number[] = [];
    if (times.length > 0) {
      for (let T = times[0]; T <= times.at(-1)!; T += spec.periodMs) {
        if (decided.has(T)) continue;
        // From a wipe until the first fire decided after it, the store forgot what was decided.
        const excused = wallWipes.some(
          (w) => T >= w - spec.periodMs && !times.some((d) => d > w && d < T),
        );
        if (!excused) holes.push(T);
      }
    }
    // A decision Consul applied just before its maker was killed is never logged (the write is
    // answered to a dead process): a hole at T is put down to that when a leading process that
    // never stopped gracefully logged its last line within [T − 1 s, T + 2 s].
    const unlogged = holes.filter((T) => diedLeadingNear(T - input.wallOffsetMs));
    holes.splice(0, holes.length, ...holes.filter((T) => !unlogged.includes(T)));
    if (holes.length > summarized) {
      v(
        'accounted',
        `${holes.length} fires neither started, skipped nor orphaned (${summarized} covered by skip summaries): ${holes
          .slice(0, 5)
          .map((T) => new Date(T).toISOString())
          .join(', ')}${holes.length > 5 ? ', …' : ''}`,
      );
    }

    // overlap: runs (work steps grouped by process and token) of a 'skip' job never intersect.
    const runs = new Map<string, { p: string; tok: number; from: number; to: number }>();
    for (const step of steps) {
      // After a wipe, tokens start again: the same process may hold the same token twice.
      const id = `${epochOf(step.t0)}|${step.p}|${step.tok}`;
      const run = runs.get(id);
      if (!run) runs.set(id, { p: step.p, tok: step.tok, from: step.t0, to: step.t1 });
      else [run.from, run.to] = [Math.min(run.from, step.t0), Math.max(run.to, step.t1)];
    }
    if (spec.overlap === 'skip') {
      const sorted = [...runs.values()].sort((a, b) => a.from - b.from);
      // The run seen so far that works the longest: any later run starting before its end overlaps it.
      let latest = sorted[0];
      for (let i = 1; i < sorted.length; i += 1) {
        const before = latest.to > sorted[i].from ? latest : null;
        if (sorted[i].to > latest.to) latest = sorted[i];
        if (before) {
          v(
            'overlap',
            `run ${sorted[i].p} token ${sorted[i].tok} worked from ${sorted[i].from.toFixed(1)} while ${before.p} token ${before.tok} worked until ${before.to.toFixed(1)} (monotonic ms)`,
          );
        }
      }
    }

    const lags = fires.map((f) => f.w - f.T).sort((a, b) => a - b);
    const skipped: Record<string, number> = {};
    for (const skip of skips) skipped[skip.reason] = (skipped[skip.reason] ?? 0) + skip.n;
    jobs[spec.name] = {
      started: fires.length,
      reruns: fires.filter((f) => f.att > 1).length,
      skipped,
      orphaned: orphans.length,
      unloggedAtKill: unlogged.length,
      staleStartsRefusedBySink: stale,
      stepsPastLeadership: steps.filter((s) => !s.ld).length,
      lagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: percentile(lags, 100) },
    };
  }
  return { violations, jobs };
}
