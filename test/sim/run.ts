// `npm run test:sim`: the regression seeds, then a batch of seeds (default 200).
//   npm run test:sim -- --seed 1234      replays one seed and prints its schedule and trace
//   npm run test:sim -- --seeds 20000    runs seeds 1..20000 (with --from N to start elsewhere)
//   --workers N                          splits a batch over N child processes
//   --stop-at-first                      stops at the first failing seed (the mutant check)
//   --all-faults                         with --seed: a regression seed with every fault kind, as a
//                                        batch runs it (not as it was found: see leaveOut)
// Exit code 1 when any seed fails.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate, type SimResult } from './simulation';

interface Args {
  seed?: number;
  seeds: number;
  from: number;
  workers: number;
  stopAtFirst: boolean;
  regression: boolean;
  quiet: boolean;
  allFaults: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seeds: 200,
    from: 1,
    workers: 1,
    stopAtFirst: false,
    regression: true,
    quiet: false,
    allFaults: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`${argv[i - 1]} needs a non-negative integer, got ${argv[i]}`);
      return n;
    };
    switch (argv[i]) {
      case '--seed':
        args.seed = value();
        break;
      case '--seeds':
        args.seeds = value();
        break;
      case '--from':
        args.from = value();
        break;
      case '--workers':
        args.workers = Math.max(1, value());
        break;
      case '--stop-at-first':
        args.stopAtFirst = true;
        break;
      case '--no-regression':
        args.regression = false;
        break;
      case '--quiet':
        args.quiet = true;
        break;
      case '--all-faults':
        args.allFaults = true;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]} (see test/sim/run.ts)`);
    }
  }
  return args;
}

interface RegressionSeed {
  readonly seed: number;
  /** The commit on which it was seen failing. */
  readonly found: string;
  readonly what: string;
  /** A defect still open in the library: reported, not counted, until it passes. */
  readonly open?: boolean;
  /** Fault kinds added to the simulator after the seed was found: left out, so it replays as found. */
  readonly leaveOut?: readonly string[];
  /**
   * Found with ClusterCron jobs in the run. Every seed found before them (all without this field)
   * replays without them, as if `cron` were in `leaveOut`.
   */
  readonly cron?: boolean;
}

export function regressionSeeds(): RegressionSeed[] {
  const file = join(__dirname, 'regression-seeds.json');
  return JSON.parse(readFileSync(file, 'utf8')) as RegressionSeed[];
}

/** How a seed runs: a regression seed as it was found, any other with every fault kind. */
function simulateSeed(seed: number, asRegression: boolean): Promise<SimResult> {
  const entry = asRegression ? regressionSeeds().find((e) => e.seed === seed) : undefined;
  const leaveOut = entry && !entry.cron ? [...(entry.leaveOut ?? []), 'cron'] : entry?.leaveOut;
  return simulate(seed, { leaveOut });
}

function describeFailure(result: SimResult, fullTrace: boolean): string {
  const lines = [
    `seed ${result.seed} FAILED (${result.candidates} candidates, options ${JSON.stringify(result.options)})`,
    ...result.violations.map((violation) => `  ${violation.rule}: ${violation.message}`),
    '  schedule:',
    ...result.schedule.map(
      (fault) =>
        `    ${(fault.at / 1_000).toFixed(3)}s ${fault.kind}${fault.target ? ` ${fault.target}` : ''}${fault.durationMs ? ` for ${fault.durationMs.toFixed(0)}ms` : ''}${fault.detail ? ` ${JSON.stringify(fault.detail)}` : ''}`,
    ),
    `  trace (${fullTrace ? 'all' : 'last 200 of'} ${result.trace.length} lines; replay: npm run test:sim -- --seed ${result.seed}):`,
    ...(fullTrace ? result.trace : result.trace.slice(-200)).map((line) => `    ${line}`),
  ];
  return lines.join('\n');
}

/** Runs seeds in this process; returns the failing ones. */
async function runSeeds(
  seeds: Iterable<number>,
  options: {
    stopAtFirst: boolean;
    quiet: boolean;
    onResult?: (result: SimResult) => void;
    /** Whether to print a failing seed (default: all). */
    report?: (seed: number) => boolean;
    /** The regression seeds: each replays the schedule it was found with. */
    asRegression?: boolean;
  },
): Promise<{ failed: number[]; ran: number; events: number; simulatedMs: number }> {
  const failed: number[] = [];
  let ran = 0;
  let events = 0;
  let simulatedMs = 0;
  for (const seed of seeds) {
    const simulated = await simulateSeed(seed, !!options.asRegression);
    // Node emits its warnings on a later tick: let the ones this seed caused arrive.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const warnings = leakWarnings.splice(0);
    const result: SimResult = warnings.length
      ? {
          ...simulated,
          violations: [
            ...simulated.violations,
            ...warnings.map((message) => ({ rule: 'process-warning' as const, message })),
          ],
        }
      : simulated;
    ran += 1;
    events += result.events;
    simulatedMs += result.simulatedMs;
    options.onResult?.(result);
    if (result.violations.length > 0) {
      failed.push(seed);
      if (options.report && !options.report(seed)) continue;
      if (!options.quiet) process.stdout.write(`${describeFailure(result, false)}\n`);
      else
        process.stdout.write(
          `seed ${seed} FAILED: ${result.violations.map((v) => `${v.rule}: ${v.message}`).join(' | ')}\n`,
        );
      if (options.stopAtFirst) break;
    }
  }
  return { failed, ran, events, simulatedMs };
}

/**
 * Warnings the library makes Node print in a user's app: MaxListenersExceededWarning on the
 * term's signal, which every job and run listens to, was one (seeds with four jobs and more).
 * Counted against the seed during which they arrived.
 */
const leakWarnings: string[] = [];
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') {
    leakWarnings.push(`${warning.name}: ${warning.message}`);
  }
});

function* range(from: number, count: number, step = 1, offset = 0): Iterable<number> {
  for (let seed = from + offset; seed < from + count; seed += step) yield seed;
}

async function main(): Promise<void> {
  // A child of a batch: runs its share and reports.
  if (process.env.SIM_WORKER) {
    const [from, count, step, offset, stopAtFirst, quiet] =
      process.env.SIM_WORKER.split(',').map(Number);
    const outcome = await runSeeds(range(from, count, step, offset), {
      stopAtFirst: !!stopAtFirst,
      quiet: !!quiet,
    });
    process.send!(outcome);
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  if (args.seed !== undefined) {
    // A regression seed replays as it runs in the regression list (--all-faults: as a batch runs it).
    const result = await simulateSeed(args.seed, !args.allFaults);
    process.stdout.write(
      result.violations.length || process.env.SIM_SHOW
        ? `${describeFailure(result, true)}\n`
        : `seed ${args.seed} passed (${result.candidates} candidates, ${result.schedule.length} faults, ${result.events} events, ${(result.simulatedMs / 1_000).toFixed(1)} s simulated)\n`,
    );
    process.exitCode = result.violations.length ? 1 : 0;
    return;
  }
  const started = performance.now();
  let failed: number[] = [];
  if (args.regression) {
    const entries = regressionSeeds();
    const open = new Set(entries.filter((entry) => entry.open).map((entry) => entry.seed));
    const regression = await runSeeds(
      entries.map((entry) => entry.seed),
      { stopAtFirst: false, quiet: true, report: (seed) => !open.has(seed), asRegression: true },
    );
    const stillOpen = regression.failed.filter((seed) => open.has(seed));
    const nowPassing = [...open].filter((seed) => !regression.failed.includes(seed));
    const regressed = regression.failed.filter((seed) => !open.has(seed));
    failed.push(...regressed);
    process.stdout.write(
      `regression seeds: ${regression.ran} run, ${regressed.length} failed${regressed.length ? ` (${regressed.join(' ')})` : ''}; open defects still failing (see regression-seeds.json): ${stillOpen.join(' ') || 'none'}${nowPassing.length ? `; open seeds that now pass (mark them fixed): ${nowPassing.join(' ')}` : ''}\n`,
    );
    if (args.stopAtFirst && failed.length) {
      process.stdout.write(`caught by regression seed ${failed[0]}\n`);
      process.exitCode = 1;
      return;
    }
  }
  const batchStarted = performance.now();
  let totals = { ran: 0, events: 0, simulatedMs: 0 };
  if (args.workers === 1) {
    const outcome = await runSeeds(range(args.from, args.seeds), args);
    failed = [...failed, ...outcome.failed];
    totals = outcome;
  } else {
    const outcomes = await Promise.all(
      Array.from(
        { length: args.workers },
        (_, offset) =>
          new Promise<{ failed: number[]; ran: number; events: number; simulatedMs: number }>(
            (resolve, reject) => {
              const child = fork(__filename, [], {
                env: {
                  ...process.env,
                  SIM_WORKER: [
                    args.from,
                    args.seeds,
                    args.workers,
                    offset,
                    args.stopAtFirst ? 1 : 0,
                    args.quiet ? 1 : 0,
                  ].join(','),
                },
                execArgv: process.execArgv,
              });
              child.on('message', (message) => resolve(message as never));
              child.on('exit', (code) =>
                code ? reject(new Error(`worker ${offset} exited with ${code}`)) : undefined,
              );
            },
          ),
      ),
    );
    for (const outcome of outcomes) {
      failed.push(...outcome.failed);
      totals.ran += outcome.ran;
      totals.events += outcome.events;
      totals.simulatedMs += outcome.simulatedMs;
    }
  }
  // Seeds of open defects (regression-seeds.json) are reported, not counted, until they pass.
  const openSeeds = new Set(
    regressionSeeds()
      .filter((entry) => entry.open)
      .map((e) => e.seed),
  );
  const openFailures = failed.filter((seed) => openSeeds.has(seed));
  failed = failed.filter((seed) => !openSeeds.has(seed));
  if (openFailures.length) {
    process.stdout.write(
      `open defects failing in this batch (see regression-seeds.json): ${[...new Set(openFailures)].join(' ')}\n`,
    );
  }
  const seconds = (performance.now() - batchStarted) / 1_000;
  process.stdout.write(
    `batch: ${totals.ran} seeds from ${args.from} in ${seconds.toFixed(1)} s (${(totals.ran / seconds).toFixed(1)} seeds/s, ${args.workers} worker(s); ${totals.events} events, ${(totals.simulatedMs / 3_600_000).toFixed(1)} h simulated); ${failed.length} failed${failed.length ? `: ${failed.slice(0, 50).join(' ')}` : ''}\n`,
  );
  process.stdout.write(`total ${((performance.now() - started) / 1_000).toFixed(1)} s\n`);
  process.exitCode = failed.length ? 1 : 0;
}

void main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 2;
});
