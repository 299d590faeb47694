import type { Paint } from './ansi';
import { formatMs } from './demo-console';
import { describeLedger, type JobLedger } from './fire-ledger';

/** A step of the story that did not happen as it should: the summary says which, no stack. */
export class StepFailed extends Error {}

export interface Transition {
  readonly from: string;
  readonly to: string;
  /** Signal sent → the next instance logged "became leader". */
  readonly electedMs: number;
  /** Signal sent → the next instance's first job tick. */
  readonly firstTickMs: number;
  readonly tokens: readonly [number | null, number | null];
}

export interface DemoResults {
  firstLeader?: { name: string; afterMs: number };
  crash?: Transition;
  handoff?: Transition & { exitMs: number | undefined };
  /** Ticks logged by an instance that, by its own log, was not leading at the time. */
  followerTicks: number;
  /** Each `@ClusterCron` job's fires, from every instance's log (fire-ledger.ts). */
  ledger?: readonly JobLedger[];
}

/** The summary for a person, then one `DEMO_RESULT {json}` line for CI logs and scripts. */
export function printSummary(r: DemoResults, paint: Paint, ok: boolean, error?: Error): void {
  const ms = formatMs;
  const line = (name: string, text: string): void => console.log(`  ${name.padEnd(18)} ${text}`);
  console.log('');
  console.log(paint('bold', 'Summary'));
  line(
    'first leader',
    r.firstLeader
      ? `${r.firstLeader.name}, ${ms(r.firstLeader.afterMs)} after the instances were started`
      : '—',
  );
  line(
    'crash failover',
    r.crash
      ? `${r.crash.from} SIGKILL → ${r.crash.to} leader in ${ms(r.crash.electedMs)}, first tick in ${ms(r.crash.firstTickMs)}`
      : 'not seen',
  );
  line(
    'graceful handoff',
    r.handoff
      ? `${r.handoff.from} SIGTERM → ${r.handoff.to} leader in ${ms(r.handoff.electedMs)}, first tick in ${ms(r.handoff.firstTickMs)}`
      : 'not seen',
  );
  line('follower ticks', String(r.followerTicks));
  for (const job of r.ledger ?? []) line(`job ${job.job}`, describeLedger(job));
  if (error) line('failed', error.message);
  console.log(ok ? paint('green', 'DEMO OK') : paint('red', 'DEMO FAILED'));
  console.log(
    `DEMO_RESULT ${JSON.stringify({
      ok,
      crashFailoverMs: r.crash && Math.round(r.crash.electedMs),
      crashFirstTickMs: r.crash && Math.round(r.crash.firstTickMs),
      handoffMs: r.handoff && Math.round(r.handoff.electedMs),
      handoffFirstTickMs: r.handoff && Math.round(r.handoff.firstTickMs),
      followerTicks: r.followerTicks,
      fires: Object.fromEntries(
        (r.ledger ?? []).map((l) => [
          l.job,
          {
            fires: l.fires,
            ran: l.ran,
            skipped: l.skipped,
            orphaned: l.orphaned,
            doubled: l.doubled.length,
            lost: l.lost.length,
          },
        ]),
      ),
    })}`,
  );
}
