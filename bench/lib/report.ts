import type { ConsulLockCrashResult, CrashResult } from '../scenarios/crash';
import type { CronResult } from '../scenarios/cron';
import type { DecoratorResult, MemoryResult } from '../scenarios/decorator-and-memory';
import type { HandoffResult } from '../scenarios/handoff';
import type { HerdResult, HerdSeries } from '../scenarios/herd';
import type { SteadyResult } from '../scenarios/steady';

export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, unknown> & {
    cores: number;
    cpuModel: string;
    node: string;
    consul: string;
  };
  handoff?: HandoffResult;
  crash?: CrashResult;
  consulLockCrash?: ConsulLockCrashResult;
  herd?: HerdResult;
  steady?: SteadyResult;
  decorator?: DecoratorResult;
  memory?: MemoryResult;
  cron?: CronResult;
  goals?: Goal[];
}

export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly comparison: string;
  readonly met: boolean | null;
}

/** `consul lock`'s crash failover as measured once on this machine class (Consul 1.8.7, n = 8), cited where it was not measured in this run. */
const ANCHOR_CONSUL_LOCK_CRASH_MEDIAN_MS = 42_800;
/** Heap growth after warm-up that still counts as noise (measured swings: about ±0.6 MiB between checkpoints). */
const HEAP_NOISE_BYTES = 1024 * 1024;

const ms = (value: number): string =>
  value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
const x = (value: number): string => `${value.toFixed(2)}×`;

export function evaluateGoals(r: BenchResults): Goal[] {
  const goals: Goal[] = [];
  if (r.handoff) {
    const { core, consulLock, ratioCoreToConsulLock } = r.handoff;
    const ratio = core.p99 / consulLock.p99;
    goals.push({
      goal: 'graceful handoff p99 ≤ 30 ms and ≤ 1.5 × consul lock',
      measured: `core p99 ${ms(core.p99)} (p50 ${ms(core.p50)}); consul lock p99 ${ms(consulLock.p99)} (p50 ${ms(consulLock.p50)})`,
      comparison: `p99 ratio ${x(ratio)}; paired ratio median ${x(ratioCoreToConsulLock.p50)}, p95 ${x(ratioCoreToConsulLock.p95)}`,
      met: core.p99 <= 30 && ratio <= 1.5,
    });
  }
  if (r.crash) {
    const lock = r.consulLockCrash?.consulLock;
    const lockMedian = lock ? lock.p50 : ANCHOR_CONSUL_LOCK_CRASH_MEDIAN_MS;
    goals.push({
      goal: 'crash failover p95 ≤ 5 s (defaults)',
      measured: `p95 ${ms(r.crash.ours.p95)}, p50 ${ms(r.crash.ours.p50)}, max ${ms(r.crash.ours.max)} (n=${r.crash.ours.n}${r.crash.failures.length ? `, ${r.crash.failures.length} without a leader in 60 s` : ''})`,
      comparison: `consul lock median ${ms(lockMedian)}${lock ? ` (n=${lock.n}, this run)` : ' (anchor, not measured in this run)'}: ${x(r.crash.ours.p50 / lockMedian)}`,
      met: r.crash.ours.p95 <= 5_000,
    });
  }
  if (r.herd) {
    const largest = (list: readonly HerdSeries[]): HerdSeries | undefined => list.at(-1);
    const smallest = (list: readonly HerdSeries[]): HerdSeries | undefined => list[0];
    const g = largest(r.herd.graceful);
    const c = largest(r.herd.crash);
    for (const failure of r.herd.failedSizes) {
      goals.push({ goal: 'herd size measured', measured: failure, comparison: '—', met: false });
    }
    const lockLargest = largest(r.herd.consulLockGraceful);
    if (g && c) {
      goals.push({
        goal: `Consul writes per failover at N = ${g.n} ≤ 3`,
        measured:
          `acquire attempts max ${g.maxAcquires} graceful, ${c.maxAcquires} crash; writes by the candidates that stay max ${g.maxSuccessorWrites} graceful, ${c.maxSuccessorWrites} crash; ` +
          `all failover writes incl. the leaving leader's release and check switch median ${g.medianFailoverWrites} graceful, ${c.medianFailoverWrites} crash`,
        comparison: lockLargest
          ? `consul lock at N=${lockLargest.n}: ${lockLargest.medianAcquires} acquire attempts (median)`
          : '—',
        met:
          Math.max(g.maxAcquires, c.maxAcquires, g.maxSuccessorWrites, c.maxSuccessorWrites) <= 3,
      });
      const g0 = smallest(r.herd.graceful)!;
      const c0 = smallest(r.herd.crash)!;
      const gr = g.time.p50 / g0.time.p50;
      const cr = c.time.p50 / c0.time.p50;
      goals.push({
        goal: `failover time N = ${g.n} vs N = ${g0.n} ≤ 1.2×`,
        measured: `graceful p50 ${ms(g.time.p50)} vs ${ms(g0.time.p50)}; crash p50 ${ms(c.time.p50)} vs ${ms(c0.time.p50)}`,
        comparison: `graceful ${x(gr)}, crash ${x(cr)}`,
        met: gr <= 1.2 && cr <= 1.2,
      });
    }
  }
  if (r.steady) {
    const s = r.steady;
    goals.push({
      goal: 'steady requests/s: follower ≤ 0.2, leader ≤ 2',
      measured: `follower ${s.follower.requestsPerSecond}, leader ${s.leader.requestsPerSecond} (over ${s.windowSeconds} s)`,
      comparison: `consul lock waiter ${s.consulLockWaiter.requestsPerSecond}, holder ${s.consulLockHolder.requestsPerSecond}`,
      met: s.follower.requestsPerSecond <= 0.2 && s.leader.requestsPerSecond <= 2,
    });
  }
  if (r.decorator) {
    goals.push({
      goal: '@LeaderOnly overhead ≤ 100 ns per call',
      measured: `${r.decorator.medianOverheadNs} ns (decorated ${r.decorator.medianGuardedNs} ns, plain ${r.decorator.medianPlainNs} ns)`,
      comparison: `of which service.isLeader() ${r.decorator.medianIsLeaderNs} ns, its performance.now() ${r.decorator.medianClockNs} ns`,
      met: r.decorator.medianOverheadNs <= 100,
    });
  }
  if (r.memory) {
    const m = r.memory;
    const mib = (bytes: number): string =>
      `${bytes >= 0 ? '+' : ''}${(bytes / 2 ** 20).toFixed(2)} MiB`;
    const abs = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
    goals.push({
      goal: `memory: no growth beyond noise over leadership transitions (heap after ${m.reference.transitions} → ${m.last.transitions} within 1 MiB)`,
      measured:
        `heap ${abs(m.first.heapUsed)} after ${m.first.transitions}, ${abs(m.reference.heapUsed)} after ${m.reference.transitions} (${mib(m.heapGrowthBytes)}, warm-up), ` +
        `${abs(m.last.heapUsed)} after ${m.last.transitions} (${mib(m.heapGrowthAfterReferenceBytes)}); RSS ${abs(m.first.rss)} → ${abs(m.reference.rss)} → ${abs(m.last.rss)}`,
      comparison: `heap slope over the second half ${m.heapSlopeBytesPerTransition} B/transition`,
      met: Math.abs(m.heapGrowthAfterReferenceBytes) <= HEAP_NOISE_BYTES,
    });
  }
  if (r.cron) {
    const c = r.cron;
    goals.push({
      goal: `ClusterCron: at most 2 Raft writes per fire (J = ${c.jobs}, N = ${c.instances})`,
      measured: `${c.raftWritesPerFire} Raft writes per fire decided (applied index, less the J = 0 rate); ${c.jobWritesPerFire} write requests: ${c.decisionsPerFire} claim/skip transactions per fire decided + ${c.outcomesPerStartedFire} outcomes per fire run (${c.loaded.fires} run, ${c.loaded.skipped} skipped)`,
      comparison: `${c.requestsPerFire} requests per fire decided`,
      // The Raft figure subtracts the J = 0 window's rate: allow it 5% of noise.
      met:
        c.raftWritesPerFire <= 2.1 &&
        c.decisionsPerFire <= 1.05 &&
        c.outcomesPerStartedFire <= 1.05,
    });
    const ratio = c.loaded.leaderRequestsPerSecond / c.baseline.leaderRequestsPerSecond;
    goals.push({
      goal: `ClusterCron: steady requests/s per instance independent of J (J = ${c.jobs} vs J = 0)`,
      measured: `leader ${c.loaded.leaderRequestsPerSecond} vs ${c.baseline.leaderRequestsPerSecond}; followers mean ${c.loaded.followerRequestsPerSecond.mean} vs ${c.baseline.followerRequestsPerSecond.mean} (leader/follower transitions in the windows: ${c.baseline.roleChanges}, ${c.loaded.roleChanges})`,
      comparison: `leader ${x(ratio)}, followers ${x(c.loaded.followerRequestsPerSecond.mean / c.baseline.followerRequestsPerSecond.mean)}`,
      met:
        ratio <= 1.2 &&
        c.loaded.followerRequestsPerSecond.mean <= 1.2 * c.baseline.followerRequestsPerSecond.mean,
    });
  }
  return goals;
}

/** The results as a Markdown table (what the README shows) followed by the goals. */
export function renderTable(r: BenchResults): string {
  const rows: string[][] = [['scenario', 'nestjs-consul-leader', 'consul lock', 'ratio']];
  const dist = (d: { p50: number; p95: number; p99: number; n: number }): string =>
    `p50 ${ms(d.p50)} · p95 ${ms(d.p95)} · p99 ${ms(d.p99)} (n=${d.n})`;
  if (r.handoff) {
    const h = r.handoff;
    rows.push([
      'graceful handoff, core stop()',
      dist(h.core),
      dist(h.consulLock),
      `paired median ${x(h.ratioCoreToConsulLock.p50)}, p99/p99 ${x(h.core.p99 / h.consulLock.p99)}`,
    ]);
    rows.push(['graceful handoff, Nest app.close()', dist(h.nest), '', '']);
  }
  if (r.crash) {
    const lock = r.consulLockCrash?.consulLock;
    rows.push([
      'crash failover (SIGKILL), defaults',
      dist(r.crash.ours),
      lock ? dist(lock) : `not run (anchor: median ${ms(ANCHOR_CONSUL_LOCK_CRASH_MEDIAN_MS)})`,
      `p50 ${x(r.crash.ours.p50 / (lock?.p50 ?? ANCHOR_CONSUL_LOCK_CRASH_MEDIAN_MS))}`,
    ]);
  }
  if (r.herd) {
    for (const g of r.herd.graceful) {
      const lock = r.herd.consulLockGraceful.find((l) => l.n === g.n);
      rows.push([
        `herd N=${g.n}, graceful: time · acquires · failover writes · reads`,
        `${ms(g.time.p50)} · ${g.medianAcquires} (max ${g.maxAcquires}) · ${g.medianFailoverWrites} · ${g.medianReads}`,
        lock
          ? `${ms(lock.time.p50)} · ${lock.medianAcquires} (max ${lock.maxAcquires}) · ${lock.medianFailoverWrites} · ${lock.medianReads}`
          : 'not run',
        lock ? `acquires ${g.medianAcquires}/${lock.medianAcquires}` : '',
      ]);
    }
    for (const c of r.herd.crash) {
      rows.push([
        `herd N=${c.n}, crash: time · acquires · failover writes · reads`,
        `${ms(c.time.p50)} · ${c.medianAcquires} (max ${c.maxAcquires}) · ${c.medianFailoverWrites} · ${c.medianReads} (n=${c.samples.length})`,
        '',
        '',
      ]);
    }
  }
  if (r.steady) {
    const s = r.steady;
    rows.push([
      'steady req/s, leader (writes/reads)',
      `${s.leader.requestsPerSecond} (${s.leader.writesPerSecond}/${s.leader.readsPerSecond})`,
      `${s.consulLockHolder.requestsPerSecond} (${s.consulLockHolder.writesPerSecond}/${s.consulLockHolder.readsPerSecond})`,
      x(s.leader.requestsPerSecond / s.consulLockHolder.requestsPerSecond),
    ]);
    rows.push([
      'steady req/s, follower (writes/reads)',
      `${s.follower.requestsPerSecond} (${s.follower.writesPerSecond}/${s.follower.readsPerSecond})`,
      `${s.consulLockWaiter.requestsPerSecond} (${s.consulLockWaiter.writesPerSecond}/${s.consulLockWaiter.readsPerSecond})`,
      x(s.follower.requestsPerSecond / s.consulLockWaiter.requestsPerSecond),
    ]);
  }
  if (r.decorator)
    rows.push(['@LeaderOnly overhead per call', `${r.decorator.medianOverheadNs} ns`, '', '']);
  if (r.memory) {
    const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)}`;
    rows.push([
      `memory: heap / RSS MiB after ${r.memory.first.transitions} → ${r.memory.reference.transitions} → ${r.memory.last.transitions} transitions`,
      `${mib(r.memory.first.heapUsed)} → ${mib(r.memory.reference.heapUsed)} → ${mib(r.memory.last.heapUsed)} / ${mib(r.memory.first.rss)} → ${mib(r.memory.reference.rss)} → ${mib(r.memory.last.rss)}`,
      '',
      '',
    ]);
  }
  if (r.cron) {
    const c = r.cron;
    rows.push([
      `ClusterCron J=${c.jobs} × N=${c.instances}: Raft writes / fire · leader req/s (J=0) · follower req/s (J=0)`,
      `${c.raftWritesPerFire} · ${c.loaded.leaderRequestsPerSecond} (${c.baseline.leaderRequestsPerSecond}) · ${c.loaded.followerRequestsPerSecond.mean} (${c.baseline.followerRequestsPerSecond.mean})`,
      '',
      '',
    ]);
    rows.push([
      `ClusterCron fire lag (start − T), steady · first fire after a leader SIGKILL`,
      `p50 ${ms(c.lag.p50)} · p99 ${ms(c.lag.p99)} (n=${c.lag.n})` +
        (c.crash
          ? ` · failover ${ms(c.crash.failoverMs)} (J=0: ${ms(c.failoverWithoutJobsMs)}), first fire ${ms(c.crash.firstFireAfterKillMs)} after the kill, first-fire lag p50 ${ms(c.crash.firstFireLag.p50)} max ${ms(c.crash.firstFireLag.max)}, ${c.crash.skippedMisfire} fires skipped (misfire), ${c.crash.lateRuns} run late`
          : ' · crash not measured'),
      '',
      '',
    ]);
  }
  const m = r.machine;
  const spurious = [...(r.crash?.spuriousFailovers ?? []), ...(r.herd?.spuriousFailovers ?? [])];
  const notes = [
    ...(r.crash?.failures ?? []).map((f) => `- crash: ${f}`),
    ...(r.herd?.failedSizes ?? []).map((f) => `- herd not measured at ${f}`),
    ...spurious.map(
      (s) =>
        `- spurious failover (no one killed; the leader's 2 s check expired while the machine was busy starting candidates): ${s.slice(0, 300)}`,
    ),
  ];
  const lines = [
    `Machine: ${m.cores} cores ${m.cpuModel}, Node ${m.node}, Consul ${m.consul} (dev agent), ${r.mode} run ${r.startedAt}, ${r.durationSeconds} s`,
    '',
    markdown(rows),
    '',
    markdown([
      ['goal', 'measured', 'comparison', 'met'],
      ...(r.goals ?? []).map((g) => [
        g.goal,
        g.measured,
        g.comparison,
        g.met === null ? 'n/a' : g.met ? 'met' : 'NOT met',
      ]),
    ]),
    ...(notes.length ? ['', ...notes] : []),
  ];
  return lines.join('\n');
}

function markdown(rows: readonly string[][]): string {
  const [head, ...body] = rows;
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
