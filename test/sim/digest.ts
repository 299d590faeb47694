// `npm run test:sim:digest -- --seeds 200`: one hash per seed of everything the simulator saw happen
// (its trace, schedule and checked history), and one hash over all of them. A change that should not
// change behaviour (a move of files, a refactor) prints the same digest before and after it.
// `--leave-out cron,clock` runs the seeds without those kinds (a new stream proved not to move the
// others: the digest with it left out equals the one before it existed).
import { createHash } from 'node:crypto';
import { simulate } from './simulation';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--seeds');
  const seeds = at >= 0 ? Number(argv[at + 1]) : 100;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error('--seeds needs a positive integer');
  const leaveAt = argv.indexOf('--leave-out');
  const leaveOut = leaveAt >= 0 ? argv[leaveAt + 1]!.split(',') : undefined;
  const all = createHash('sha256');
  for (let seed = 1; seed <= seeds; seed += 1) {
    const result = await simulate(seed, { leaveOut });
    const one = createHash('sha256')
      .update(JSON.stringify([result.schedule, result.trace, result.violations]))
      .digest('hex');
    all.update(one);
    if (argv.includes('--each')) console.log(`seed ${seed} ${one.slice(0, 16)}`);
  }
  console.log(`${seeds} seeds: ${all.digest('hex')}`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
