// The rules of ClusterCron over a fire ledger (cron-ledger.ts), independent of what the runners
// believe: each fire once, fenced, none lost in silence, the overlap policy held, started on time
// (docs/design/cluster-cron.md; issue 19, "Proof"). A wiped agent starts every record over: rules
// 1, 2 and 4 compare only fires of one epoch (between two wipes).
import { FireSchedule } from '../../lib/scheduler/fire-times';
import type { CronJobSpec, CronLedger, CronRun, CronSkip } from './cron-ledger';

export type CronRule = 'cron-once' | 'cron-fencing' | 'cron-lost' | 'cron-overlap' | 'cron-timing';

export interface CronViolation {
  readonly rule: CronRule;
  readonly message: string;
}

/** Slack on a claim's round trip beyond `requestTimeout` (timers late, a clock 1% fast). */
const CLAIM_SLACK_MS = 50;

export function checkCron(ledger: CronLedger): CronViolation[] {
  return [
    ...checkOnce(ledger),
    ...checkFencing(ledger),
    ...checkLost(ledger),
    ...checkOverlap(ledger),
    ...checkTiming(ledger),
  ];
}

const at = (ms: number): string => `${(ms / 1_000).toFixed(3)}s`;
const fire = (run: { job: string; fireTime: number }): string =>
  `${run.job}@${new Date(run.fireTime).toISOString()}`;

function epochOf(ledger: CronLedger, trueTime: number): number {
  return ledger.wipes.filter((wipe) => wipe <= trueTime).length;
}

function orphanedTokens(ledger: CronLedger, job: string): Set<number> {
  return new Set(ledger.orphans.filter((o) => o.job === job).map((o) => o.token));
}

/** Rule 1: no (job, T) runs twice, but an orphan's opt-in re-run with a larger token. */
export function checkOnce(ledger: CronLedger): CronViolation[] {
  const violations: CronViolation[] = [];
  const byFire = new Map<string, CronRun[]>();
  for (const run of ledger.runs) {
    const key = `${run.job} ${run.fireTime} ${epochOf(ledger, run.startTrue)}`;
    byFire.set(key, [...(byFire.get(key) ?? []), run]);
  }
  for (const runs of byFire.values()) {
    // In the order of their claims: a paused owner may begin its claim after the re-run began.
    const sorted = [...runs].sort((a, b) => a.token - b.token);
    const job = jobOf(ledger, sorted[0]!.job);
    const orphaned = orphanedTokens(ledger, job.name);
    for (let i = 1; i < sorted.length; i += 1) {
      const before = sorted[i - 1]!;
      const run = sorted[i]!;
      const rerun =
        job.orphans === 'rerun' &&
        run.attempt > before.attempt &&
        run.token > before.token &&
        orphaned.has(before.token);
      if (!rerun)
        violations.push({
          rule: 'cron-once',
          message: `${fire(run)} ran twice: ${before.instance} (token ${before.token}, attempt ${before.attempt}) at ${at(before.startTrue)} and ${run.instance} (token ${run.token}, attempt ${run.attempt}) at ${at(run.startTrue)}${orphaned.has(before.token) ? '' : ', the first never recorded orphaned'}`,
        });
    }
  }
  return violations;
}

/**
 * Rule 2: each job's sink keeps the highest token it accepted and refuses lower ones. Fires are
 * claimed in the order of (T, attempt) (`decidedThrough` only grows), so the sink must never accept
 * a write of an older fire after one of a newer fire, nor refuse one of the newest, and two fires
 * never share a token. A wiped agent resets the sink.
 */
export function checkFencing(ledger: CronLedger): CronViolation[] {
  const violations: CronViolation[] = [];
  for (const job of ledger.jobs) {
    let holder: { token: number; fireTime: number; attempt: number; epoch: number } | null = null;
    let epoch = 0;
    // The epoch of a fire is that of its first write (when its work began).
    const fireEpoch = new Map<string, number>();
    for (const write of ledger.sinkWrites.filter((w) => w.job === job.name)) {
      const now = epochOf(ledger, write.atTrue);
      if (now !== epoch) {
        epoch = now;
        holder = null;
      }
      const key = `${write.fireTime} ${write.attempt} ${write.token}`;
      if (!fireEpoch.has(key)) fireEpoch.set(key, now);
      // A fire claimed before a wipe and writing after it carries a token of the lost history:
      // the reset sink cannot judge it (SAFETY.md: a wiped store resets what fences on it).
      if (fireEpoch.get(key) !== now) continue;
      const sameFire =
        holder && holder.fireTime === write.fireTime && holder.attempt === write.attempt;
      const newer =
        holder !== null &&
        (write.fireTime !== holder.fireTime
          ? write.fireTime > holder.fireTime
          : write.attempt > holder.attempt);
      const what = `${fire(write)} attempt ${write.attempt} token ${write.token} by ${write.instance} at ${at(write.atTrue)}`;
      if (!holder || write.token >= holder.token) {
        if (holder && !sameFire && write.token === holder.token)
          violations.push({
            rule: 'cron-fencing',
            message: `${what} shares its token with ${new Date(holder.fireTime).toISOString()} attempt ${holder.attempt}`,
          });
        else if (holder && !sameFire && !newer)
          violations.push({
            rule: 'cron-fencing',
            message: `${what}: the sink accepted an older fire after ${new Date(holder.fireTime).toISOString()} attempt ${holder.attempt} (token ${holder.token})`,
          });
        holder = { token: write.token, fireTime: write.fireTime, attempt: write.attempt, epoch };
      } else if (newer) {
        violations.push({
          rule: 'cron-fencing',
          message: `${what}: the newest fire's write refused (the sink holds token ${holder.token} of ${new Date(holder.fireTime).toISOString()})`,
        });
      }
    }
  }
  return violations;
}

/** Whether a process's clocks or execution were disturbed within [from, to] (true time). */
function disturbed(ledger: CronLedger, instance: string, from: number, to: number): boolean {
  return ledger.interruptions.some(
    (i) => i.instance === instance && i.toTrue >= from && i.fromTrue <= to,
  );
}

/** How long a claim can take: from the plan's `now` to the work's start. */
function claimMs(ledger: CronLedger): number {
  return ledger.requestTimeoutMs * 1.02 + CLAIM_SLACK_MS;
}

/**
 * Rule 3: every fire T from the job's first decided fire to the last leader's wall clock (less the
 * time a decision takes) is accounted for — run, skipped with a reason, or recorded orphaned — and
 * a skip's reason fits the policy: `overlap` only with `overlap: 'skip'` and a run begun before it;
 * `misfire` only for a fire that was late when decided, or older than the fire run in the same
 * decision; with `run-once`, a misfire skip always comes with the latest due fire run (or skipped
 * for overlap, or recorded orphaned by a claimer that gave its claim up) in the same decision.
 */
export function checkLost(ledger: CronLedger): CronViolation[] {
  const violations: CronViolation[] = [];
  const lastLead = [...ledger.leads].sort((a, b) => (a.toTrue ?? 0) - (b.toTrue ?? 0)).at(-1);
  for (const job of ledger.jobs) {
    const schedule = new FireSchedule(job.cronTime);
    const runs = ledger.runs.filter((r) => r.job === job.name);
    const skips = ledger.skips.filter((s) => s.job === job.name);
    const orphans = ledger.orphans.filter((o) => o.job === job.name);
    const accounted = new Set<number>([
      ...runs.map((r) => r.fireTime),
      ...skips.flatMap((s) => (s.fireTime === null ? [] : [s.fireTime])),
      ...orphans.map((o) => o.fireTime),
    ]);
    for (const skip of skips) violations.push(...skipReason(ledger, job, skip, runs, skips));
    // A wiped agent loses every record: the fires between the last decided before it and the first
    // decided after it are nobody's to account for. Each epoch is checked on its own span.
    const decided = [
      ...runs.map((r) => ({ fireTime: r.fireTime, atTrue: r.startTrue })),
      ...skips.flatMap((s) =>
        s.fireTime === null ? [] : [{ fireTime: s.fireTime, atTrue: s.atTrue }],
      ),
      ...orphans,
    ];
    if (decided.length === 0) continue;
    const epochs = new Map<number, number[]>();
    for (const d of decided) {
      const epoch = epochOf(ledger, d.atTrue);
      epochs.set(epoch, [...(epochs.get(epoch) ?? []), d.fireTime]);
    }
    const lastEpoch = Math.max(...epochs.keys());
    // The last leader decides every fire due on its wall clock, given a decision's time and the
    // longest a local run can hold a late fire back.
    const marginMs = job.graceMs + claimMs(ledger) + job.workMs * 1.5 + 2_000;
    const lastOwed =
      lastLead?.toTrue != null &&
      lastLead.toWall !== null &&
      lastLead.toTrue - lastLead.fromTrue > marginMs + 1_000
        ? lastLead.toWall - marginMs
        : -Infinity;
    for (const [epoch, times] of epochs) {
      const first = Math.min(...times);
      const last = epoch === lastEpoch ? Math.max(lastOwed, ...times) : Math.max(...times);
      // A summary stands for the earlier fires of its decision that were not listed.
      let summarizedBelow = -Infinity;
      for (const summary of skips.filter(
        (s) => s.fireTime === null && epochOf(ledger, s.atTrue) === epoch,
      )) {
        const listed = skips.filter(
          (s) =>
            s.fireTime !== null && s.instance === summary.instance && s.atTrue === summary.atTrue,
        );
        summarizedBelow = Math.max(summarizedBelow, Math.min(...listed.map((s) => s.fireTime!)));
      }
      const due = schedule.between(first - 1, last, 5_000).times;
      const lost = due.filter((t) => !accounted.has(t) && t >= summarizedBelow);
      if (lost.length > 0)
        violations.push({
          rule: 'cron-lost',
          message: `${job.name}: ${lost.length} fire(s) neither run nor skipped nor orphaned, first ${new Date(lost[0]!).toISOString()} (accounted from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}${epoch > 0 ? `, after wipe ${epoch}` : ''})`,
        });
    }
  }
  return violations;
}

function skipReason(
  ledger: CronLedger,
  job: CronJobSpec,
  skip: CronSkip,
  runs: readonly CronRun[],
  skips: readonly CronSkip[],
): CronViolation[] {
  if (skip.fireTime === null) return [];
  const T = skip.fireTime;
  const what = `${fire({ job: job.name, fireTime: T })} skipped (${skip.reason}) by ${skip.instance} at ${at(skip.atTrue)}`;
  if (skip.reason === 'overlap') {
    if (job.overlap === 'allow')
      return [{ rule: 'cron-lost', message: `${what}, yet the job allows overlap` }];
    const before =
      runs.some((r) => r.startTrue <= skip.atTrue) ||
      ledger.orphans.some((o) => o.job === job.name && o.atTrue <= skip.atTrue);
    return before ? [] : [{ rule: 'cron-lost', message: `${what}: no run had begun` }];
  }
  // The same decision ran (or skipped for overlap) a later fire: the moment and instance agree.
  const laterInDecision =
    runs.some(
      (r) => r.instance === skip.instance && r.startTrue === skip.atTrue && r.fireTime > T,
    ) ||
    skips.some(
      (s) =>
        s.reason === 'overlap' &&
        s.instance === skip.instance &&
        s.atTrue === skip.atTrue &&
        s.fireTime !== null &&
        s.fireTime > T,
    );
  // A claim whose answer was lost, once leadership moved before it was read back, is recorded
  // orphaned by its claimer, not run (cluster-cron.md, "A lost answer"): the skips of its decision
  // are reported from that read, the orphan once written. The decision's claim is the fire right
  // after its latest skip.
  const decisionSkips = skips.filter(
    (s) => s.instance === skip.instance && s.atTrue === skip.atTrue && s.fireTime !== null,
  );
  const claimed = new FireSchedule(job.cronTime).next(
    Math.max(...decisionSkips.map((s) => s.fireTime!)),
  );
  const givenUp = ledger.orphans.some(
    (o) =>
      o.job === job.name &&
      o.instance === skip.instance &&
      o.fireTime === claimed &&
      o.atTrue >= skip.atTrue,
  );
  const calm = !disturbed(
    ledger,
    skip.instance,
    skip.atTrue - claimMs(ledger) - 1_000,
    skip.atTrue,
  );
  if (job.misfire === 'run-once' && !laterInDecision && !givenUp && calm)
    return [
      { rule: 'cron-lost', message: `${what}: run-once, yet no later fire ran in that decision` },
    ];
  if (!laterInDecision && !givenUp && skip.atWall - T <= job.graceMs && calm)
    return [
      {
        rule: 'cron-lost',
        message: `${what}: on time (${(skip.atWall - T).toFixed(0)} ms after T, grace ${job.graceMs} ms) and nothing later ran`,
      },
    ];
  return [];
}

/** Rule 4: with `overlap: 'skip'`, no two runs of a job overlap in true time (orphaned runs aside). */
export function checkOverlap(ledger: CronLedger): CronViolation[] {
  const violations: CronViolation[] = [];
  for (const job of ledger.jobs.filter((j) => j.overlap === 'skip')) {
    const orphaned = orphanedTokens(ledger, job.name);
    // A run that never ended died with its process; an orphaned one, its owner's session.
    const runs = ledger.runs
      .filter((r) => r.job === job.name && r.endTrue !== null && !orphaned.has(r.token))
      .sort((a, b) => a.startTrue - b.startTrue);
    let open: CronRun | null = null;
    for (const run of runs) {
      if (
        open &&
        run.startTrue < open.endTrue! &&
        epochOf(ledger, open.startTrue) === epochOf(ledger, run.startTrue)
      )
        violations.push({
          rule: 'cron-overlap',
          message: `${fire(run)} (${run.instance}, token ${run.token}) began at ${at(run.startTrue)} while ${fire(open)} (${open.instance}, token ${open.token}) ran until ${at(open.endTrue!)}`,
        });
      if (!open || run.endTrue! > open.endTrue!) open = run;
    }
  }
  return violations;
}

/**
 * Rule 5: a fire starts at or after T on its runner's wall clock, and late only as its misfire
 * policy allows: never with `skip`; with `run-once` only the latest fire due when it was planned;
 * with `catchUp` one of the latest n within the window. A run whose process was paused or whose
 * clocks stood or jumped meanwhile is left out; so is an orphan's re-run (another instance's clock).
 */
export function checkTiming(ledger: CronLedger): CronViolation[] {
  const violations: CronViolation[] = [];
  for (const run of ledger.runs.filter((r) => r.attempt === 1)) {
    const job = jobOf(ledger, run.job);
    const lateMs = run.startWall - run.fireTime;
    const since = run.startTrue - Math.max(lateMs, 0) * 1.02 - claimMs(ledger) - 1_000;
    if (disturbed(ledger, run.instance, since, run.startTrue)) continue;
    const what = `${fire(run)} started by ${run.instance} at ${at(run.startTrue)}, ${lateMs.toFixed(0)} ms after T`;
    if (lateMs < 0) {
      violations.push({ rule: 'cron-timing', message: `${what}: before T on its clock` });
      continue;
    }
    // How late its claim was: a claim whose answer was lost begins only once a read shows it.
    const claimLateMs = lateMs - (run.startTrue - (run.claimTrue ?? run.startTrue));
    if (claimLateMs <= job.graceMs + claimMs(ledger)) continue;
    const plannedBy = run.fireTime + claimLateMs - claimMs(ledger);
    const laterDue = new FireSchedule(job.cronTime).between(run.fireTime, plannedBy, 1_000);
    const newer = laterDue.times.length + laterDue.earlier;
    const policy = job.misfire;
    if (policy === 'skip')
      violations.push({ rule: 'cron-timing', message: `${what}: late, and misfire is skip` });
    else if (policy === 'run-once' && newer > 0)
      violations.push({
        rule: 'cron-timing',
        message: `${what}: late, with run-once, yet ${newer} later fire(s) were due`,
      });
    else if (typeof policy === 'object') {
      const window = Math.max(policy.withinMs, job.graceMs) + claimMs(ledger);
      if (claimLateMs > window || newer >= policy.catchUp)
        violations.push({
          rule: 'cron-timing',
          message: `${what}: outside catchUp ${policy.catchUp} within ${policy.withinMs} ms (${newer} later due)`,
        });
    }
  }
  return violations;
}

function jobOf(ledger: CronLedger, name: string): CronJobSpec {
  const job = ledger.jobs.find((j) => j.name === name);
  if (!job) throw new Error(`no job ${name} in the ledger`);
  return job;
}
