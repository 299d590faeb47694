// `npm run test:sim:mutants`: proof that the simulator can fail. Each patch here puts back one
// defect the correctness work removed, or breaks one rule of the safety argument (SAFETY.md). For
// each, a scratch copy of lib/ and test/ gets the patch, and the simulator runs seeds from 1 until
// one fails; the table says how many seeds it took. A mutant no seed catches fails the run.
//   npm run test:sim:mutants -- --seeds 3000     the most seeds to try per mutant (default 2000)
//   npm run test:sim:mutants -- --only early-marker
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..', '..');

function parseArgs(argv: string[]): { seeds: number; only: string | null; skip: string[] } {
  const args = { seeds: 2000, only: null as string | null, skip: [] as string[] };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--seeds') args.seeds = Number(argv[++i]);
    else if (argv[i] === '--only') args.only = argv[++i];
    // A mutant the simulator is known not to catch (say why where --skip is given): listed as
    // skipped in the output, so it cannot go unnoticed.
    else if (argv[i] === '--skip') args.skip.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (see test/sim/mutants/run.ts)`);
  }
  if (!Number.isInteger(args.seeds) || args.seeds < 1)
    throw new Error('--seeds needs a positive integer');
  return args;
}

interface Outcome {
  readonly mutant: string;
  readonly caughtBy: number | null;
  readonly rule: string;
  readonly seconds: number;
}

function simulator(script: string, cwd: string, args: string[]) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

const baseline = new Map<number, boolean>();

/** Whether the seed fails without any mutant (an open defect of the library), remembered across mutants. */
function baselineFails(seed: number): boolean {
  if (!baseline.has(seed)) {
    baseline.set(
      seed,
      simulator(join(repo, 'test', 'sim', 'run.ts'), repo, ['--seed', String(seed), '--all-faults'])
        .status !== 0,
    );
  }
  return baseline.get(seed)!;
}

function runMutant(patch: string, seeds: number): Outcome {
  const mutant = patch.replace(/\.patch$/, '');
  const scratch = mkdtempSync(join(tmpdir(), `sim-mutant-${mutant}-`));
  const started = performance.now();
  try {
    for (const entry of ['lib', 'test', 'harness', 'tsconfig.json', 'package.json']) {
      cpSync(join(repo, entry), join(scratch, entry), { recursive: true });
    }
    symlinkSync(join(repo, 'node_modules'), join(scratch, 'node_modules'));
    execFileSync('patch', ['-p1', '--quiet', '-d', scratch, '-i', join(__dirname, patch)]);
    // A seed that fails on the unmutated code too (an open defect) does not count as a catch.
    for (let from = 1; from <= seeds;) {
      const run = simulator(join(scratch, 'test', 'sim', 'run.ts'), scratch, [
        '--from',
        String(from),
        '--seeds',
        String(seeds - from + 1),
        '--stop-at-first',
        '--no-regression',
        '--quiet',
      ]);
      const failure = /seed (\d+) FAILED: ([\w-]+)/.exec(run.stdout);
      if (!failure) {
        return {
          mutant,
          caughtBy: null,
          rule: run.status === 0 ? '-' : `exit ${run.status}: ${run.stderr.slice(-300)}`,
          seconds: (performance.now() - started) / 1_000,
        };
      }
      const seed = Number(failure[1]);
      if (!baselineFails(seed)) {
        return {
          mutant,
          caughtBy: seed,
          rule: failure[2],
          seconds: (performance.now() - started) / 1_000,
        };
      }
      process.stdout.write(
        `  (${mutant}: seed ${seed} fails without the mutant too; not counted)\n`,
      );
      from = seed + 1;
    }
    return { mutant, caughtBy: null, rule: '-', seconds: (performance.now() - started) / 1_000 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const patches = readdirSync(__dirname)
    .filter((file) => file.endsWith('.patch'))
    .filter((file) => !args.only || file === `${args.only}.patch`)
    .filter((file) => {
      const skipped = args.skip.includes(file.replace(/\.patch$/, ''));
      if (skipped) process.stdout.write(`${file.replace(/\.patch$/, '')}   SKIPPED (--skip)\n`);
      return !skipped;
    })
    .sort();
  const outcomes: Outcome[] = [];
  for (const patch of patches) {
    const outcome = runMutant(patch, args.seeds);
    outcomes.push(outcome);
    process.stdout.write(
      `${outcome.mutant.padEnd(28)} ${
        outcome.caughtBy === null
          ? `NOT CAUGHT in ${args.seeds} seeds`
          : `caught by seed ${outcome.caughtBy} (${outcome.caughtBy} seeds to catch; ${outcome.rule})`
      }  ${outcome.seconds.toFixed(1)} s\n`,
    );
  }
  const missed = outcomes.filter((outcome) => outcome.caughtBy === null);
  process.stdout.write(
    `${outcomes.length - missed.length} of ${outcomes.length} mutants caught${missed.length ? `; missed: ${missed.map((m) => m.mutant).join(', ')}` : ''}\n`,
  );
  process.exitCode = missed.length ? 1 : 0;
}

main();
