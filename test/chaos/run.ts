// `npm run test:chaos`: the real-Consul nemesis. Candidate processes running the library's
// LeaderElection, each behind its own proxies, on a 3-server cluster and then on a dev agent with ACLs;
// a seeded nemesis; the simulator's checker over the actions they logged. Exits non-zero on any
// violation (with --mutant: when the mutant was NOT caught). See test/chaos/README.md.
//   npm run test:chaos                          1,000 faults (half per world), seed 1
//   npm run test:chaos -- --faults 200 --seed 7 --duration 600 --world cluster
//   npm run test:chaos:quick                    the CI run (60 faults)
//   npm run test:chaos -- --mutant no-wait-before-acting --faults 40
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderChart } from '../../bench/lib/chart';
import { summarize } from '../../bench/lib/stats';
import type { ActingInterval } from '../sim/checker';
import { monotonicMs } from './chaos-log';
import type { WorldKind } from './consul-world';
import { runSegment, type FaultKind, type SegmentResult } from './segment';
import { overlaps, renderTimeline } from './timeline';

const repo = resolve(__dirname, '..', '..');

interface Args {
  faults: number;
  seed: number;
  /** Seconds of nemesis in all (split between the worlds); Infinity: until the faults are done. */
  duration: number;
  worlds: WorldKind[];
  candidates: number;
  mutant: string | null;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    faults: 1_000,
    seed: 1,
    duration: Infinity,
    worlds: ['cluster', 'acl-agent'],
    candidates: 3,
    mutant: null,
    out: join(repo, 'test', 'chaos', '.out'),
  };
  const number = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`${name} needs a number >= ${min}, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--faults') args.faults = Math.floor(number(flag, argv[++i], 1));
    else if (flag === '--seed') args.seed = Math.floor(number(flag, argv[++i], 0));
    else if (flag === '--duration') args.duration = number(flag, argv[++i], 10);
    else if (flag === '--candidates') args.candidates = Math.floor(number(flag, argv[++i], 2));
    else if (flag === '--mutant') args.mutant = argv[++i];
    else if (flag === '--out') args.out = resolve(argv[++i]);
    else if (flag === '--world') {
      const world = argv[++i];
      if (world === 'both') args.worlds = ['cluster', 'acl-agent'];
      else if (world === 'cluster' || world === 'acl-agent') args.worlds = [world];
      else throw new Error(`--world is cluster, acl-agent or both, got ${world}`);
    } else throw new Error(`unknown argument ${flag} (see test/chaos/run.ts)`);
  }
  return args;
}

/** A scratch copy of the repository with one simulator mutant applied (as test/sim/mutants/run.ts does). */
function mutantCopy(mutant: string): string {
  const scratch = mkdtempSync(join(tmpdir(), `chaos-mutant-${mutant}-`));
  for (const entry of ['lib', 'harness', 'test', 'tsconfig.json', 'package.json']) {
    cpSync(join(repo, entry), join(scratch, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(scratch, 'node_modules'));
  execFileSync('patch', [
    '-p1',
    '--quiet',
    '-d',
    scratch,
    '-i',
    join(repo, 'test', 'sim', 'mutants', `${mutant}.patch`),
  ]);
  return scratch;
}

/** The earliest moment two processes acted at once, or null. */
function firstOverlap(intervals: readonly ActingInterval[]): number | null {
  const found = overlaps(intervals).map(([from]) => from);
  return found.length ? Math.min(...found) : null;
}

function summary(result: SegmentResult) {
  const byKind: Partial<Record<FaultKind, number>> = {};
  for (const fault of result.faults) byKind[fault.kind] = (byKind[fault.kind] ?? 0) + 1;
  const back = result.calms
    .map((calm) => calm.leaderAfterMs)
    .filter((ms): ms is number => ms !== null)
    .sort((a, b) => a - b);
  const pct = (p: number): number | null =>
    back.length
      ? Math.round(back[Math.min(back.length - 1, Math.ceil((p / 100) * back.length) - 1)])
      : null;
  const overlap = firstOverlap(result.intervals);
  return {
    world: result.world,
    durationSeconds: Math.round((result.endedAt - result.startedAt) / 1_000),
    faults: result.faults.length,
    faultsByKind: byKind,
    faultErrors: result.faults
      .filter((f) => f.detail?.includes('failed:'))
      .map((f) => `${f.kind}: ${f.detail}`),
    calms: result.calms.length,
    leaderBackAfterHealMs: {
      p50: pct(50),
      p95: pct(95),
      max: pct(100),
      missed: result.calms.length - back.length,
    },
    livenessBoundMs: result.livenessBoundMs,
    actions: result.intervals.length,
    terms: new Set(result.intervals.map((i) => `${i.process}#${i.fencingToken}`)).size,
    impreciseSteps: result.imprecise,
    tornLogLines: result.tornLines,
    wipes: result.wipes.length,
    leftovers: result.leftovers,
    stopOutcomes: result.stopOutcomes,
    firstOverlapSecondsAfterStart:
      overlap === null ? null : Math.round((overlap - result.startedAt) / 10) / 100,
    faultsBeforeFirstOverlap:
      overlap === null ? null : result.faults.filter((f) => f.at <= overlap).length,
    violationsByRule: result.violations.reduce<Record<string, number>>(
      (counts, v) => ({ ...counts, [v.rule]: (counts[v.rule] ?? 0) + 1 }),
      {},
    ),
    cron: result.cron,
    violations: result.violations.slice(0, 50).map((v) => `${v.rule}: ${v.message}`),
    error: result.error,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const root = args.mutant ? mutantCopy(args.mutant) : repo;
  const started = monotonicMs();
  const log = (line: string): void => {
    process.stdout.write(
      `${((monotonicMs() - started) / 1_000).toFixed(1).padStart(7)}s ${line}\n`,
    );
  };
  const results: SegmentResult[] = [];
  try {
    for (const [i, world] of args.worlds.entries()) {
      const share = Math.ceil(args.faults / args.worlds.length);
      const faults = Math.min(share, args.faults - i * share);
      const seconds = args.duration / args.worlds.length;
      const result = await runSegment({
        world,
        faults,
        deadline: monotonicMs() + seconds * 1_000,
        seed: args.seed * 1_000 + i,
        candidates: args.candidates,
        outDir: args.out,
        root,
        log,
      });
      results.push(result);
      writeFileSync(
        join(args.out, world, 'faults.json'),
        `${JSON.stringify(
          result.faults.map((f) => ({
            ...f,
            at: +((f.at - result.startedAt) / 1_000).toFixed(3),
            healedAt:
              f.healedAt === null ? null : +((f.healedAt - result.startedAt) / 1_000).toFixed(3),
          })),
          null,
          1,
        )}\n`,
      );
      writeFileSync(
        join(args.out, world, 'timeline.svg'),
        renderTimeline(
          result,
          `chaos ${world}: seed ${args.seed}${args.mutant ? `, mutant ${args.mutant}` : ''}`,
        ),
      );
    }
  } finally {
    if (root !== repo) rmSync(root, { recursive: true, force: true });
  }
  const segments = results.map(summary);
  // Open defect (issue 19): fires of a leader's decision can go unreported (`cron-accounted`),
  // seen at a SIGKILL or stop; reported in every run, not counted, until triaged and fixed.
  const open = (v: { rule: string }): boolean => v.rule === 'cron-accounted';
  const violations = results.reduce((n, r) => n + r.violations.filter((v) => !open(v)).length, 0);
  const report = {
    seed: args.seed,
    mutant: args.mutant,
    faultsAsked: args.faults,
    durationSeconds: Math.round((monotonicMs() - started) / 1_000),
    faults: results.reduce((n, r) => n + r.faults.length, 0),
    violations,
    segments,
  };
  writeFileSync(join(args.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  // The bench's strip chart, one row per world: how long after every fault of a group healed a
  // leader acted again (log scale, so the milliseconds of a live leader and the seconds of a failover share it).
  writeFileSync(
    join(args.out, 'leader-back.svg'),
    renderChart(
      'chaos: first leader action after every fault of a group healed',
      `seed ${args.seed}${args.mutant ? `, mutant ${args.mutant}` : ''}; bound ${results[0]?.livenessBoundMs ?? '-'} ms`,
      results.map((result) => ({
        label: result.world,
        side: 'ours' as const,
        distribution: summarize(
          result.calms.flatMap((calm) => (calm.leaderAfterMs === null ? [] : [calm.leaderAfterMs])),
        ),
      })),
    ),
  );
  for (const segment of segments) {
    log(
      `[${segment.world}] ${segment.faults} faults ${JSON.stringify(segment.faultsByKind)}; ` +
        `leader back after heal p50 ${segment.leaderBackAfterHealMs.p50} ms, max ${segment.leaderBackAfterHealMs.max} ms ` +
        `(bound ${segment.livenessBoundMs} ms); ${segment.terms} terms; leftovers ${segment.leftovers.length}; ` +
        `violations ${JSON.stringify(segment.violationsByRule)}`,
    );
    for (const [job, stats] of Object.entries(segment.cron)) {
      log(
        `  [${segment.world}] ${job}: ${stats.started} started (${stats.reruns} re-runs), skipped ${JSON.stringify(stats.skipped)}, ` +
          `${stats.orphaned} orphaned, lag p50 ${stats.lagMs.p50} ms p99 ${stats.lagMs.p99} ms max ${stats.lagMs.max} ms, ` +
          `${stats.staleStartsRefusedBySink} stale starts refused by the sink, ${stats.stepsPastLeadership} steps past leadership`,
      );
    }
    for (const line of segment.violations.slice(0, 10)) log(`  VIOLATION ${line}`);
  }
  log(
    `report: ${join(args.out, 'report.json')}; leader-back chart: ${join(args.out, 'leader-back.svg')}; timelines: ${args.worlds.map((w) => join(args.out, w, 'timeline.svg')).join(', ')}`,
  );
  if (args.mutant) {
    const caught = violations > 0;
    log(caught ? `mutant ${args.mutant} CAUGHT` : `mutant ${args.mutant} NOT CAUGHT`);
    process.exitCode = caught ? 0 : 1;
  } else {
    log(violations === 0 ? 'chaos: 0 violations' : `chaos: ${violations} VIOLATIONS`);
    process.exitCode = violations === 0 ? 0 : 1;
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 2;
});
