// Scenario 3, herd: N candidates (50 per process, the leader alone in its own) on one key, all
// talking to Consul through a counting proxy. Per failover — graceful (the leader resigns and
// releases) and crash (SIGKILL of the leader's process) — the Consul requests made between the
// leader leaving and 2 s after the next one leads, by kind, and the failover time. `consul lock`
// contenders are counted the same way for the graceful case.
import {
  CandidateProcess,
  diagnose,
  firstLeaderAfter,
  waitForCandidates,
  waitForSessions,
} from '../lib/candidates';
import { ConsulLockContender } from '../lib/consul-lock';
import type { BenchContext } from '../lib/context';
import { delay, pollUntil, startHttpFaultProxy, type HttpFaultProxy } from '../../harness';
import {
  countByKind,
  countedBetween,
  type CountedRequest,
  type RequestKind,
} from '../lib/request-kinds';
import { wallNow } from '../lib/processes';
import { median, summarize, type Distribution } from '../lib/stats';

/** Writes a failover causes: taking the key, letting it go, switching check TTLs, sessions and services coming and going. */
const FAILOVER_KINDS: readonly RequestKind[] = [
  'acquire',
  'successors-write',
  'release',
  'check-register',
  'session-create',
  'session-destroy',
  'service-register',
  'service-deregister',
  'kv-write',
  'txn-other',
  'other-write',
];
/** Writes that happen on a timer whether or not anything fails over. */
const UPKEEP_KINDS: readonly RequestKind[] = ['check-pass', 'session-renew', 'confirm'];
const PER_PROCESS = 50;
/** Start-up pacing of the candidates inside one process (set-up only; nothing is measured then). */
const STAGGER_MS = 40;
/** How long N candidates may take to register and open their sessions before the size is given up. */
const SET_UP_TIMEOUT_MS = 90_000;
const SETTLE_AFTER_MS = 2_000;
// The leader switched to its short leading check right after its acquire; this is only to be past start-up.
const LEAD_BEFORE_MS = 1_000;

export interface FailoverSample {
  readonly timeMs: number;
  readonly acquires: number;
  readonly failoverWrites: number;
  /** Failover writes by everyone but the leader that left (its release and check switch excluded). */
  readonly successorWrites: number;
  readonly upkeepWrites: number;
  readonly reads: number;
  readonly byKind: Partial<Record<RequestKind, number>>;
  readonly windowMs: number;
  /** Where the time went, from the proxy's arrival times: leaving → release sent → first acquire sent → leading. */
  readonly phases: {
    readonly toReleaseMs: number | null;
    readonly toAcquireMs: number | null;
    readonly releaseToAcquireMs: number | null;
    readonly acquireToLeaderMs: number | null;
  };
}

export interface HerdSeries {
  readonly n: number;
  readonly samples: readonly FailoverSample[];
  readonly time: Distribution;
  readonly medianAcquires: number;
  readonly medianFailoverWrites: number;
  readonly maxSuccessorWrites: number;
  readonly maxAcquires: number;
  readonly maxFailoverWrites: number;
  readonly medianReads: number;
  readonly medianPhases: {
    readonly toReleaseMs: number;
    readonly toAcquireMs: number;
    readonly releaseToAcquireMs: number;
    readonly acquireToLeaderMs: number;
  };
}

export interface HerdResult {
  readonly sizes: readonly number[];
  readonly graceful: readonly HerdSeries[];
  readonly crash: readonly HerdSeries[];
  readonly consulLockGraceful: readonly HerdSeries[];
  /** Set-ups in which the leader lost its key with no one killed, with what Consul showed. */
  readonly spuriousFailovers: readonly string[];
  /** Sizes that could not be measured (set-up never converged), with why. */
  readonly failedSizes: readonly string[];
  readonly what: string;
}

export async function runHerd(ctx: BenchContext): Promise<HerdResult> {
  // BENCH_HERD_SIZES=200 (comma-separated) runs other sizes, for looking into one of them.
  const sizes = process.env.BENCH_HERD_SIZES
    ? process.env.BENCH_HERD_SIZES.split(',').map(Number)
    : ctx.quick
      ? [2, 50]
      : [2, 10, 50, 200];
  const gracefulRounds = ctx.quick ? 2 : 6;
  const crashRounds = ctx.quick ? 1 : 4;
  const lockRounds = ctx.quick ? 2 : 4;
  const graceful: HerdSeries[] = [];
  const crash: HerdSeries[] = [];
  const consulLockGraceful: HerdSeries[] = [];
  const spurious: string[] = [];
  const failedSizes: string[] = [];
  for (const n of sizes) {
    try {
      await measureSize(n);
    } catch (error) {
      const message = `N=${n}: ${(error as Error).message}`;
      failedSizes.push(message);
      ctx.log(`  herd ${message} — size given up`);
    }
  }
  async function measureSize(n: number): Promise<void> {
    graceful.push(
      series(n, await retrying(ctx, () => gracefulOurs(ctx, n, gracefulRounds, spurious))),
    );
    ctx.log(`  herd N=${n} graceful: ${fmt(graceful.at(-1)!)}`);
    const crashes: FailoverSample[] = [];
    for (let round = 0; round < crashRounds; round++)
      crashes.push(await retrying(ctx, () => crashOurs(ctx, n, spurious)));
    crash.push(series(n, crashes));
    ctx.log(`  herd N=${n} crash: ${fmt(crash.at(-1)!)}`);
    // consul lock's herd is the point of comparison at the larger N; quick mode has time for N = 50 only.
    if (n <= 50 && (!ctx.quick || n === 50)) {
      consulLockGraceful.push(series(n, await gracefulConsulLock(ctx, n, lockRounds)));
      ctx.log(`  herd N=${n} consul lock graceful: ${fmt(consulLockGraceful.at(-1)!)}`);
    }
  }
  return {
    sizes,
    graceful,
    crash,
    consulLockGraceful,
    spuriousFailovers: spurious,
    failedSizes,
    what:
      `Requests through a counting proxy from the moment the leader leaves until ${SETTLE_AFTER_MS / 1000} s after the next one leads. ` +
      `acquires = acquire attempts by all candidates; failover writes = ${FAILOVER_KINDS.join('/')}; upkeep (${UPKEEP_KINDS.join('/')}) happens on timers regardless and is reported apart. ` +
      `${PER_PROCESS} candidates per process, the leader alone in its own. consul lock: N contenders, SIGTERM to the holder (N ≤ 50).`,
  };
}

function fmt(s: HerdSeries): string {
  return `time p50 ${Math.round(s.time.p50)} ms, acquires median ${s.medianAcquires} (max ${s.maxAcquires}), failover writes median ${s.medianFailoverWrites} (successors' max ${s.maxSuccessorWrites}), reads ${s.medianReads}; phases (median ms) leave→release ${s.medianPhases.toReleaseMs}, leave→acquire ${s.medianPhases.toAcquireMs}, release→acquire ${s.medianPhases.releaseToAcquireMs}, acquire→leading ${s.medianPhases.acquireToLeaderMs}`;
}

function series(n: number, samples: FailoverSample[]): HerdSeries {
  return {
    n,
    samples,
    time: summarize(samples.map((s) => s.timeMs)),
    medianAcquires: median(samples.map((s) => s.acquires)),
    medianFailoverWrites: median(samples.map((s) => s.failoverWrites)),
    maxSuccessorWrites: Math.max(...samples.map((s) => s.successorWrites)),
    maxAcquires: Math.max(...samples.map((s) => s.acquires)),
    maxFailoverWrites: Math.max(...samples.map((s) => s.failoverWrites)),
    medianReads: median(samples.map((s) => s.reads)),
    medianPhases: {
      toReleaseMs: median(
        samples.flatMap((s) => (s.phases.toReleaseMs === null ? [] : [s.phases.toReleaseMs])),
      ),
      toAcquireMs: median(
        samples.flatMap((s) => (s.phases.toAcquireMs === null ? [] : [s.phases.toAcquireMs])),
      ),
      releaseToAcquireMs: median(
        samples.flatMap((s) =>
          s.phases.releaseToAcquireMs === null ? [] : [s.phases.releaseToAcquireMs],
        ),
      ),
      acquireToLeaderMs: median(
        samples.flatMap((s) =>
          s.phases.acquireToLeaderMs === null ? [] : [s.phases.acquireToLeaderMs],
        ),
      ),
    },
  };
}

/** The requests of one failover window [start, end): the leader left at `start`, the next one led at `leaderAt`. */
function sample(
  proxy: HttpFaultProxy,
  start: number,
  leaderAt: number,
  end: number,
  leavingId: string | null,
): FailoverSample {
  const requests = countedBetween(proxy, start, end);
  const byKind = countByKind(requests);
  const sum = (kinds: readonly RequestKind[]): number =>
    kinds.reduce((total, kind) => total + (byKind[kind] ?? 0), 0);
  const leaving = (r: CountedRequest): boolean =>
    r.kind === 'release' || (leavingId !== null && r.subject.includes(leavingId));
  const releaseAt = requests.find((r) => r.kind === 'release')?.at ?? null;
  const acquireAt = requests.find((r) => r.kind === 'acquire')?.at ?? null;
  const round = (value: number | null): number | null =>
    value === null ? null : Math.round(value * 10) / 10;
  return {
    timeMs: leaderAt - start,
    acquires: byKind.acquire ?? 0,
    failoverWrites: sum(FAILOVER_KINDS),
    successorWrites: requests.filter((r) => FAILOVER_KINDS.includes(r.kind) && !leaving(r)).length,
    upkeepWrites: sum(UPKEEP_KINDS),
    reads: byKind.read ?? 0,
    byKind,
    windowMs: end - start,
    phases: {
      toReleaseMs: round(releaseAt === null ? null : releaseAt - start),
      toAcquireMs: round(acquireAt === null ? null : acquireAt - start),
      releaseToAcquireMs: round(
        releaseAt === null || acquireAt === null ? null : acquireAt - releaseAt,
      ),
      acquireToLeaderMs: round(acquireAt === null ? null : leaderAt - acquireAt),
    },
  };
}

/** The leader alone in one process, the other n - 1 candidates 50 to a process, all through `proxy`. */
async function startCandidates(
  ctx: BenchContext,
  proxy: HttpFaultProxy,
  key: string,
  n: number,
  spurious: string[],
): Promise<CandidateProcess[]> {
  const via = { host: '127.0.0.1', port: proxy.port };
  const leader = new CandidateProcess(ctx.registry, via, key, 'lead', 1);
  const processes = [leader];
  try {
    return await setUp(ctx, key, n, spurious, leader, processes, via);
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop()));
    throw error;
  }
}

async function setUp(
  ctx: BenchContext,
  key: string,
  n: number,
  spurious: string[],
  leader: CandidateProcess,
  processes: CandidateProcess[],
  via: { host: string; port: number },
): Promise<CandidateProcess[]> {
  await leader.ready();
  await firstLeaderAfter([leader], 0, 30_000);
  // One process of 50 at a time: 200 candidates registering at once keep a 2-core agent too busy
  // for the leader's check updates (see the spurious failovers in the report).
  for (let rest = n - 1, i = 0; rest > 0; rest -= PER_PROCESS, i++) {
    const next = new CandidateProcess(
      ctx.registry,
      via,
      key,
      `f${i}`,
      Math.min(PER_PROCESS, rest),
      STAGGER_MS,
    );
    processes.push(next);
    await next.ready(120_000);
    await waitForCandidates(
      ctx.agent.address,
      leader.serviceName!,
      1 + processes.slice(1).reduce((sum, p) => sum + p.count, 0),
      SET_UP_TIMEOUT_MS,
    );
  }
  await waitForCandidates(ctx.agent.address, leader.serviceName!, n, SET_UP_TIMEOUT_MS);
  await waitForSessions(
    ctx.agent.address,
    (name) => name.startsWith(`${key}#`),
    n,
    SET_UP_TIMEOUT_MS,
  );
  await delay(LEAD_BEFORE_MS);
  for (let attempt = 1; !leader.leading || processes.slice(1).some((p) => p.leading); attempt++) {
    // The leader lost its key while the others started (its 2 s check expired while the agent was
    // busy with their registrations). Reported; then the candidate that took the key resigns, and the
    // first-registered candidate — the lone leader — is first in line again.
    const state = await diagnose(ctx.agent.address, key, leader.serviceName);
    spurious.push(`N=${n}: leadership moved while the other candidates started; Consul: ${state}`);
    ctx.log(
      `  N=${n}: leadership moved while the other candidates started (spurious failover); handing it back`,
    );
    if (attempt > 3) {
      await Promise.all(processes.map((p) => p.stop()));
      throw new SpuriousFailover(`N=${n}: could not hand the leadership back to the lone leader`);
    }
    processes.find((p) => p !== leader && p.leading)?.send('resign');
    await pollUntil('the lone leader to lead again', () => leader.leading, {
      timeoutMs: 15_000,
      intervalMs: 5,
    }).catch(() => undefined);
    await delay(LEAD_BEFORE_MS);
  }
  return processes;
}

/** The lone leader could not be made leader again after a spurious failover: the set-up is done again. */
class SpuriousFailover extends Error {}

/** Runs a set-up-and-measure step again when its set-up could not restore the lone leader. */
async function retrying<T>(ctx: BenchContext, step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof SpuriousFailover) || attempt >= 3) throw error;
      ctx.log(`  ${error.message} — setting up again`);
    }
  }
}

async function gracefulOurs(
  ctx: BenchContext,
  n: number,
  rounds: number,
  spurious: string[],
): Promise<FailoverSample[]> {
  const proxy = await startHttpFaultProxy({ host: ctx.agent.host, port: ctx.agent.port });
  const key = ctx.uniqueKey(`herd${n}`);
  let processes: CandidateProcess[] = [];
  const samples: FailoverSample[] = [];
  try {
    processes = await startCandidates(ctx, proxy, key, n, spurious);
    for (let round = 0; round < rounds; round++) {
      const leading = await pollUntil(
        'the leading process',
        () => processes.find((p) => p.leading),
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      const before = leading.events.length;
      leading.send('resign');
      const resigning = await pollUntil(
        'resign acknowledged',
        () => leading.events.slice(before).find((e) => e.ev === 'resigning'),
        { timeoutMs: 10_000, intervalMs: 5 },
      );
      const next = await firstLeaderAfter(processes, resigning.at!, 60_000);
      const end = next.at! + SETTLE_AFTER_MS;
      await delay(SETTLE_AFTER_MS + 50);
      samples.push(sample(proxy, resigning.at!, next.at!, end, resigning.id ?? null));
      // Past the resigned candidate's pause (1 s) and the new leader's switch to its leading check.
      await delay(500);
    }
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await proxy.close();
  }
  return samples;
}

async function crashOurs(
  ctx: BenchContext,
  n: number,
  spurious: string[],
): Promise<FailoverSample> {
  const proxy = await startHttpFaultProxy({ host: ctx.agent.host, port: ctx.agent.port });
  const key = ctx.uniqueKey(`herdc${n}`);
  let processes: CandidateProcess[] = [];
  try {
    processes = await startCandidates(ctx, proxy, key, n, spurious);
    const t0 = wallNow();
    processes[0].kill();
    const next = await firstLeaderAfter(processes.slice(1), t0, 60_000);
    const end = next.at! + SETTLE_AFTER_MS;
    await delay(SETTLE_AFTER_MS + 50);
    return sample(proxy, t0, next.at!, end, 'lead-000');
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await proxy.close();
  }
}

async function gracefulConsulLock(
  ctx: BenchContext,
  n: number,
  rounds: number,
): Promise<FailoverSample[]> {
  const proxy = await startHttpFaultProxy({ host: ctx.agent.host, port: ctx.agent.port });
  const prefix = ctx.uniqueKey(`herdlock${n}`);
  const httpAddr = `127.0.0.1:${proxy.port}`;
  const spawn = (): ConsulLockContender =>
    new ConsulLockContender(ctx.registry, ctx.agent.binary, httpAddr, prefix);
  let contenders: ConsulLockContender[] = [];
  const samples: FailoverSample[] = [];
  const lockSessions = (name: string): boolean => /lock/i.test(name) && name.includes(prefix);
  try {
    contenders = [spawn()];
    await contenders[0].whenRunning(30_000);
    for (let i = 1; i < n; i++) contenders.push(spawn());
    await waitForSessions(ctx.agent.address, lockSessions, n, 60_000).catch(() => delay(2_000));
    await delay(LEAD_BEFORE_MS);
    for (let round = 0; round < rounds; round++) {
      const holder = contenders.find(
        (c) => c.runningAt !== null && c.process.exitCode === null && c.process.signalCode === null,
      )!;
      const waiting = contenders.filter((c) => c !== holder);
      const t0 = wallNow();
      const m0 = performance.now();
      const terminated = holder.terminate();
      const t1 = await pollUntil(
        'the next consul lock holder',
        () => waiting.find((c) => c.runningAt !== null)?.runningAt ?? undefined,
        { timeoutMs: 60_000, intervalMs: 5 },
      );
      const timeMs = t1 - m0;
      const end = t0 + timeMs + SETTLE_AFTER_MS;
      await terminated;
      await delay(SETTLE_AFTER_MS + 50);
      // consul lock's holder leaves with a release and a session destroy; its session id is not known here.
      samples.push(sample(proxy, t0, t0 + timeMs, end, null));
      contenders = [...waiting, spawn()];
      await waitForSessions(ctx.agent.address, lockSessions, n, 60_000).catch(() => delay(2_000));
      await delay(1_000);
    }
  } finally {
    await Promise.all(contenders.map((c) => c.terminate()));
    await proxy.close();
  }
  return samples;
}
