import { FireSchedule } from '../../lib/scheduler/fire-times';

/**
 * The demo's fire ledger: what every instance said about each `@ClusterCron` fire, put side by
 * side. Each scheduled time T of a job between the first and the last fire seen must be accounted
 * for exactly once: run by one instance, or skipped, or orphaned with the reason logged. A T run
 * twice (other than an orphan run again with a new token) or not mentioned by anyone is a failure.
 */

/** One thing an instance said about one fire. */
export type FireNote =
  | {
      readonly kind: 'ran';
      readonly job: string;
      readonly fireTime: number;
      readonly token: number;
      readonly attempt: number;
      readonly instance: string;
    }
  | {
      readonly kind: 'skipped';
      readonly job: string;
      readonly fireTime: number;
      readonly reason: string;
      readonly instance: string;
    }
  | {
      readonly kind: 'orphaned';
      readonly job: string;
      readonly fireTime: number;
      readonly token: number;
      readonly instance: string;
    }
  /** "N earlier fires skipped": a summary without times, which the ledger cannot place. */
  | {
      readonly kind: 'skipped-summary';
      readonly job: string;
      readonly count: number;
      readonly instance: string;
    };

// The sample's own line (sample/reports.service.ts) and the library's (lib/scheduler/scheduler.messages.ts).
const RAN = /^fire (\S+) (\S+) ran \(fencing token (\d+), attempt (\d+)\)/;
const SKIPPED = /^Job "([^"]+)": fire (\S+) skipped \((overlap|misfire)/;
const SKIPPED_SUMMARY = /^Job "([^"]+)": (?:at least )?(\d+) earlier fires skipped/;
const ORPHANED = /^Job "([^"]+)": run of fire (\S+) \(token (\d+)\) by \S+ orphaned/;
const GIVEN_UP =
  /^Job "([^"]+)": fire (\S+) \(token (\d+)\) was claimed here, but the answer was lost/;

/** The note a log message carries, if any. */
export function fireNoteOf(message: string, instance: string): FireNote | undefined {
  let m = RAN.exec(message);
  if (m) {
    return {
      kind: 'ran',
      job: m[1]!,
      fireTime: Date.parse(m[2]!),
      token: Number(m[3]),
      attempt: Number(m[4]),
      instance,
    };
  }
  if ((m = SKIPPED.exec(message))) {
    return { kind: 'skipped', job: m[1]!, fireTime: Date.parse(m[2]!), reason: m[3]!, instance };
  }
  if ((m = SKIPPED_SUMMARY.exec(message))) {
    return { kind: 'skipped-summary', job: m[1]!, count: Number(m[2]), instance };
  }
  if ((m = ORPHANED.exec(message) ?? GIVEN_UP.exec(message))) {
    return {
      kind: 'orphaned',
      job: m[1]!,
      fireTime: Date.parse(m[2]!),
      token: Number(m[3]),
      instance,
    };
  }
  return undefined;
}

export interface JobLedger {
  readonly job: string;
  readonly cron: string;
  /** Scheduled times from the first fire seen to the last. */
  readonly fires: number;
  readonly ran: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly orphaned: number;
  /** Times run more than once (an orphan's re-run with a larger token excepted). */
  readonly doubled: readonly number[];
  /** Times nobody ran, skipped or orphaned. */
  readonly lost: readonly number[];
  /** Runs per instance. */
  readonly byInstance: Readonly<Record<string, number>>;
  /** Whether the tokens of the runs, in fire-time order, only grew. */
  readonly tokensGrow: boolean;
}

/** Puts the notes of one job side by side over the scheduled times between the first and last seen. */
export function ledgerOf(job: string, cron: string, notes: readonly FireNote[]): JobLedger {
  const mine = notes.filter((n) => n.job === job);
  const timed = mine.filter(
    (n): n is Exclude<FireNote, { kind: 'skipped-summary' }> => n.kind !== 'skipped-summary',
  );
  const skipped: Record<string, number> = {};
  const byInstance: Record<string, number> = {};
  const doubled: number[] = [];
  const lost: number[] = [];
  let ran = 0;
  let orphaned = 0;
  if (timed.length === 0) {
    return {
      job,
      cron,
      fires: 0,
      ran,
      skipped,
      orphaned,
      doubled,
      lost,
      byInstance,
      tokensGrow: true,
    };
  }
  const first = Math.min(...timed.map((n) => n.fireTime));
  const last = Math.max(...timed.map((n) => n.fireTime));
  const schedule = new FireSchedule(cron);
  let fires = 0;
  let summarised = mine
    .filter((n) => n.kind === 'skipped-summary')
    .reduce((sum, n) => sum + n.count, 0);
  const tokens: number[] = [];
  for (let t = first; t <= last; t = schedule.next(t)) {
    fires += 1;
    const here = timed.filter((n) => n.fireTime === t);
    const runs = here.filter((n) => n.kind === 'ran');
    const wasOrphaned = here.some((n) => n.kind === 'orphaned');
    for (const run of runs) byInstance[run.instance] = (byInstance[run.instance] ?? 0) + 1;
    tokens.push(...runs.map((r) => r.token).sort((a, b) => a - b));
    // A second run is allowed only as an orphan's re-run: a later attempt, a larger token.
    // A second run is allowed only as an orphan's re-run: a later attempt, a larger token.
    const firstAttempts = runs.filter((r) => r.attempt === 1).length;
    if (firstAttempts > 1 || (runs.length > 1 && !wasOrphaned)) doubled.push(t);
    // An orphan is a run whose owner died mid-run (it may have logged "ran" first): counted apart.
    if (wasOrphaned) orphaned += 1;
    const skip = here.find((n) => n.kind === 'skipped');
    if (runs.length > 0) ran += 1;
    else if (wasOrphaned) continue;
    else if (skip) skipped[skip.reason] = (skipped[skip.reason] ?? 0) + 1;
    // A misfire summary ("N earlier fires skipped") accounts for fires without naming them.
    else if (summarised > 0) {
      summarised -= 1;
      skipped.misfire = (skipped.misfire ?? 0) + 1;
    } else lost.push(t);
  }
  const tokensGrow = tokens.every((token, i) => i === 0 || token > tokens[i - 1]!);
  return { job, cron, fires, ran, skipped, orphaned, doubled, lost, byInstance, tokensGrow };
}

/** One line per job for the summary. */
export function describeLedger(l: JobLedger): string {
  const skips = Object.entries(l.skipped).map(([reason, n]) => `${n} skipped (${reason})`);
  const per = Object.entries(l.byInstance)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name}=${n}`)
    .join(' ');
  const parts = [
    `${l.fires} fires: ${l.ran} ran once`,
    ...skips,
    ...(l.orphaned > 0 ? [`${l.orphaned} orphaned`] : []),
    `${l.doubled.length} doubled`,
    `${l.lost.length} lost`,
    `runs ${per || '—'}`,
    l.tokensGrow ? 'tokens grow' : 'TOKENS WENT BACK',
  ];
  return parts.join(', ');
}
