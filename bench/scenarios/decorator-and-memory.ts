// Scenarios 5 and 6, each in a fresh Node process so that neither JIT state nor heap carries over
// from the rest of the benchmark.
import { onLines, spawnTs, waitExit } from '../lib/processes';
import type { BenchContext } from '../lib/context';
import { median } from '../lib/stats';

export interface DecoratorResult {
  readonly callsPerRound: number;
  readonly rounds: number;
  readonly plainNs: readonly number[];
  readonly guardedNs: readonly number[];
  readonly medianPlainNs: number;
  readonly medianGuardedNs: number;
  /** Median over rounds of (guarded − plain). */
  readonly medianOverheadNs: number;
  /** ConsulLeaderService.isLeader() alone (what the wrapper asks on every call). */
  readonly medianIsLeaderNs: number;
  /** performance.now() alone (what isLeader() reads to check the lease deadline). */
  readonly medianClockNs: number;
  readonly what: string;
}

export interface MemoryPoint {
  readonly transitions: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

export interface MemoryResult {
  readonly points: readonly MemoryPoint[];
  /** After 10 transitions. */
  readonly first: MemoryPoint;
  /** After the number of transitions the issue names (1,000; 200 in quick mode). */
  readonly reference: MemoryPoint;
  /** After 3× as many: growth from `reference` to here is what a leak would show. */
  readonly last: MemoryPoint;
  /** reference − first: warm-up (JIT, caches, connection pools) plus any leak. */
  readonly heapGrowthBytes: number;
  /** last − reference: a leak of even a few hundred bytes per transition shows here. */
  readonly heapGrowthAfterReferenceBytes: number;
  readonly rssGrowthBytes: number;
  /** Least-squares slope of heapUsed over the second half of the checkpoints. */
  readonly heapSlopeBytesPerTransition: number;
  readonly what: string;
}

async function runChild<T>(
  ctx: BenchContext,
  file: string,
  args: string[],
  nodeFlags: string[],
  timeoutMs: number,
): Promise<T[]> {
  const child = spawnTs(ctx.registry, file, args, nodeFlags);
  const lines: T[] = [];
  const errors: string[] = [];
  onLines(child, (line) => {
    try {
      lines.push(JSON.parse(line) as T);
    } catch {
      // not ours
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  if (!(await waitExit(child, timeoutMs))) {
    child.kill('SIGKILL');
    throw new Error(`${file} did not finish within ${timeoutMs} ms`);
  }
  if (child.exitCode !== 0)
    throw new Error(`${file} exited ${child.exitCode}: ${errors.join('').slice(-2000)}`);
  return lines;
}

export async function runDecorator(ctx: BenchContext): Promise<DecoratorResult> {
  // Each loop blocks the event loop (no confirmation can go out during it): short enough to stay
  // well inside the default 2.5 s lease even on a busy 2-core machine.
  const calls = ctx.quick ? 500_000 : 2_000_000;
  const rounds = ctx.quick ? 5 : 9;
  const key = ctx.uniqueKey('decorator');
  const [result] = await runChild<{
    plainNs: number[];
    guardedNs: number[];
    isLeaderNs: number[];
    clockNs: number[];
    leaderAtEnd: boolean;
  }>(
    ctx,
    'bench/lib/decorator-child.ts',
    [ctx.agent.host, String(ctx.agent.port), key, String(calls), String(rounds)],
    [],
    180_000,
  );
  if (!result) throw new Error('decorator child printed no result');
  const overheads = result.guardedNs.map((g, i) => g - result.plainNs[i]);
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    callsPerRound: calls,
    rounds,
    plainNs: result.plainNs.map(round),
    guardedNs: result.guardedNs.map(round),
    medianPlainNs: round(median(result.plainNs)),
    medianGuardedNs: round(median(result.guardedNs)),
    medianOverheadNs: round(median(overheads)),
    medianIsLeaderNs: round(median(result.isLeaderNs)),
    medianClockNs: round(median(result.clockNs)),
    what: `Nest app leading a real election; ${calls.toLocaleString('en')} calls per loop, ${rounds} rounds after a warm-up, loops alternating first; overhead = median over rounds of (decorated − undecorated) ns/call. Leader at the end: ${result.leaderAtEnd}.`,
  };
}

export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const referenceTransitions = ctx.quick ? 200 : 1000;
  const total = referenceTransitions * 3;
  const every = ctx.quick ? 50 : 100;
  const key = ctx.uniqueKey('memory');
  const points = await runChild<MemoryPoint>(
    ctx,
    'bench/lib/memory-child.ts',
    [ctx.agent.host, String(ctx.agent.port), key, String(total), String(every)],
    ['--expose-gc'],
    600_000,
  );
  if (points.length < 2) throw new Error(`memory child printed ${points.length} checkpoints`);
  const first = points[0];
  const last = points.at(-1)!;
  const reference = points.find((p) => p.transitions === referenceTransitions) ?? last;
  const half = points.slice(Math.floor(points.length / 2));
  return {
    points,
    first,
    reference,
    last,
    heapGrowthBytes: reference.heapUsed - first.heapUsed,
    heapGrowthAfterReferenceBytes: last.heapUsed - reference.heapUsed,
    rssGrowthBytes: reference.rss - first.rss,
    heapSlopeBytesPerTransition:
      Math.round(slope(half.map((p) => [p.transitions, p.heapUsed])) * 10) / 10,
    what: `Two elections in one child process (node --expose-gc), resigning back and forth with pause 0 and the test suite's fast timings; GC forced before each checkpoint. ${total} transitions; judged on the growth from ${referenceTransitions} to ${total}, after warm-up.`,
  };
}

function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
