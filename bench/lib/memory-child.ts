// Memory after many leadership transitions in one process: two elections on one key hand the
// leadership back and forth (resign with pause 0, fast timings — this measures leaks, not speed).
// At each checkpoint it forces GC (run with --expose-gc) and prints RSS and heap as a JSON line.
import { filter, firstValueFrom, timeout } from 'rxjs';
import { LeaderElection } from '../../lib/election';
import { FAST_TIMINGS } from '../../harness/fast-timings';

const [host, port, key, totalText, everyText] = process.argv.slice(2);
const total = Number(totalText);
const every = Number(everyText);
const silent = {
  log: () => undefined,
  warn: () => undefined,
  error: (message: string) => void process.stderr.write(`${message}\n`),
};
const gc = (globalThis as { gc?: () => void }).gc;

async function settleAndMeasure(transitions: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ transitions, rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external })}\n`,
  );
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  const elections = ['a', 'b'].map(
    (id) =>
      new LeaderElection({
        key,
        instanceId: `memory-${id}`,
        consul: { host, port: Number(port) },
        logger: silent,
        ...FAST_TIMINGS,
      }),
  );
  for (const election of elections) election.start();
  // The election that last became leader, as its own stream said: reading `state` later instead
  // can find neither leading (a busy machine can outlast the 600 ms lease between two ticks).
  const leads = (election: LeaderElection): Promise<LeaderElection> =>
    firstValueFrom(
      election.state$.pipe(
        filter((s) => s.role === 'leader'),
        timeout(30_000),
      ),
    ).then(() => election);
  let leader = await Promise.race(elections.map(leads));
  for (let transitions = 1; transitions <= total; transitions++) {
    const other = elections.find((e) => e !== leader)!;
    const next = leads(other);
    await leader.resign({ pause: 0 });
    leader = await next;
    if (transitions === 10 || transitions % every === 0) await settleAndMeasure(transitions);
  }
  await Promise.all(elections.map((e) => e.stop()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
