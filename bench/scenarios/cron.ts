// Scenario 7, ClusterCron at scale (issue 19): N instances, one process each, each through its own
// counting proxy, default timings; first J = 0 (elections only: the baseline), then the same
// processes start J every-second jobs and the same window is counted again; then the leader is
// SIGKILLed and the jobs' first fires on the next leader are timed. Measured: Raft writes per fire
// (the agent's applied index, less the baseline's rate; and the leader's writes at its proxy),
// requests/s per instance (leader and followers), fire lag (start − T), and after the crash.
import type { ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { delay, startHttpFaultProxy, txnVerbs, type HttpFaultProxy } from '../../harness';
import { waitForCandidates } from '../lib/candidates';
import type { BenchContext } from '../lib/context';
import { onLines, signal, spawnTs, waitExit, wallNow } from '../lib/processes';
import { countedBetween, isWrite } from '../lib/request-kinds';
import { summarize, type Distribution } from '../lib/stats';

interface CronEvent {
  readonly ev: 'ready' | 'leader' | 'follower' | 'jobs' | 'fire' | 'skip' | 'orphan' | 'stopped';
  readonly at?: number;
  readonly job?: string;
  readonly T?: number | null;
  readonly n?: number;
  readonly reason?: 'overlap' | 'misfire';
  readonly serviceName?: string | null;
}

interface Instance {
  readonly id: string;
  readonly child: ChildProcess;
  readonly proxy: HttpFaultProxy;
  readonly events: CronEvent[];
}

export interface CronWindow {
  readonly jobs: number;
  readonly seconds: number;
  readonly leaderRequestsPerSecond: number;
  /** Followers' mean and max. */
  readonly followerRequestsPerSecond: { readonly mean: number; readonly max: number };
  readonly raftAppliedPerSecond: number;
  /** Fires started in the window, and fires decided skipped (each a write, with no run). */
  readonly fires: number;
  readonly skipped: number;
  /** Leader/follower transitions in the window: 0 when one leader held it throughout. */
  readonly roleChanges: number;
  /** The machine's 1-minute load average at the window's end. */
  readonly loadAverage: number;
}

export interface CronResult {
  readonly instances: number;
  readonly jobs: number;
  readonly baseline: CronWindow;
  readonly loaded: CronWindow;
  /**
   * Per fire decided (started, or skipped: each skip is a write with no run): the agent's Raft
   * applied index growth with jobs, less the baseline's over the same time.
   */
  readonly raftWritesPerFire: number;
  /** Every instance's write requests at its proxy, less the baseline's, per fire decided. */
  readonly jobWritesPerFire: number;
  /** Decision transactions (claim or skip, with check-session) per fire decided. */
  readonly decisionsPerFire: number;
  /** Outcome writes (cas alone) per fire started. */
  readonly outcomesPerStartedFire: number;
  /** Every instance's requests, less the baseline's, per fire decided. */
  readonly requestsPerFire: number;
  /** Start − T of the fires in the loaded window. */
  readonly lag: Distribution;
  /** Failover after a SIGKILL of the leader with J = 0 (the same processes, before their jobs). */
  readonly failoverWithoutJobsMs: number;
  readonly crash: {
    readonly failoverMs: number;
    /** Per job: start − T of its first fire on the next leader. */
    readonly firstFireLag: Distribution;
    readonly firstFireAfterKillMs: number;
    readonly lateRuns: number;
    readonly skippedMisfire: number;
    readonly jobsWithoutFire: number;
  } | null;
  readonly what: string;
}

async function appliedIndex(address: string): Promise<number> {
  const response = await fetch(`${address}/v1/agent/self`, { signal: AbortSignal.timeout(5_000) });
  const self = (await response.json()) as { Stats: { raft: { applied_index: string } } };
  return Number(self.Stats.raft.applied_index);
}

const round = (value: number, digits = 3): number =>
  Math.round(value * 10 ** digits) / 10 ** digits;

export async function runCron(ctx: BenchContext): Promise<CronResult> {
  const n = ctx.quick ? 3 : 10;
  const jobs = ctx.quick ? 10 : 100;
  const windowSeconds = ctx.quick ? 10 : 30;
  const key = ctx.uniqueKey('cron');
  const target = { host: ctx.agent.host, port: ctx.agent.port };
  const instances: Instance[] = [];
  /** Every instance started, the replaced ones too, to stop at the end. */
  const started: Instance[] = [];
  const spawnInstance = async (id: string): Promise<Instance> => {
    const proxy = await startHttpFaultProxy(target);
    const child = spawnTs(ctx.registry, 'bench/lib/cron-child.ts', [
      '127.0.0.1',
      String(proxy.port),
      key,
      id,
    ]);
    const events: CronEvent[] = [];
    onLines(child, (line) => {
      try {
        events.push(JSON.parse(line) as CronEvent);
      } catch {
        // not ours
      }
    });
    const instance = { id, child, proxy, events };
    started.push(instance);
    return instance;
  };
  try {
    for (let i = 0; i < n; i += 1) instances.push(await spawnInstance(`cron-${i}`));
    const leaderOf = (): Instance | undefined =>
      instances.find((i) => {
        const roles = i.events.filter((e) => e.ev === 'leader' || e.ev === 'follower');
        return (
          roles.at(-1)?.ev === 'leader' && i.child.exitCode === null && i.child.signalCode === null
        );
      });
    const until = async (what: string, probe: () => boolean, timeoutMs: number): Promise<void> => {
      const deadline = performance.now() + timeoutMs;
      while (!probe()) {
        if (performance.now() > deadline) throw new Error(`cron: ${what} within ${timeoutMs} ms`);
        await delay(20);
      }
    };
    await until(
      'every instance ready',
      () => instances.every((i) => i.events.some((e) => e.ev === 'ready')),
      90_000,
    );
    const serviceName = instances[0].events.find((e) => e.ev === 'ready')?.serviceName;
    if (serviceName) await waitForCandidates(ctx.agent.address, serviceName, n);
    await until('a leader', () => leaderOf() !== undefined, 30_000);
    await delay(3_000);

    /** Role changes in [from, to): the window is counted with one leader, or says it moved. */
    const roleChanges = (from: number, to: number): number =>
      instances.reduce(
        (sum, i) =>
          sum +
          i.events.filter(
            (e) => (e.ev === 'leader' || e.ev === 'follower') && e.at! >= from && e.at! < to,
          ).length,
        0,
      );
    const measure = async (
      jobCount: number,
    ): Promise<CronWindow & { from: number; to: number; leader: Instance }> => {
      const leader = leaderOf()!;
      // Every-second fires claim and record their outcome a few ms after T: a window from 600 ms
      // past a second to 600 ms past another holds whole fires (no claim without its outcome).
      await delay(1_600 - (wallNow() % 1_000));
      const index0 = await appliedIndex(ctx.agent.address);
      const from = wallNow();
      await delay(windowSeconds * 1_000);
      const to = wallNow();
      const index1 = await appliedIndex(ctx.agent.address);
      const seconds = (to - from) / 1_000;
      const rates = instances.map((i) => countedBetween(i.proxy, from, to).length / seconds);
      const followers = instances
        .filter((i) => i !== leader)
        .map((i) => rates[instances.indexOf(i)]);
      const inWindow = (e: CronEvent): boolean => e.at! >= from && e.at! < to;
      const all = instances.flatMap((i) => i.events.filter(inWindow));
      return {
        jobs: jobCount,
        seconds: round(seconds, 1),
        leaderRequestsPerSecond: round(rates[instances.indexOf(leader)]),
        followerRequestsPerSecond: {
          mean: round(followers.reduce((a, b) => a + b, 0) / followers.length),
          max: round(Math.max(...followers)),
        },
        raftAppliedPerSecond: round((index1 - index0) / seconds),
        fires: all.filter((e) => e.ev === 'fire').length,
        skipped: all.reduce((sum, e) => sum + (e.ev === 'skip' ? (e.n ?? 1) : 0), 0),
        roleChanges: roleChanges(from, to),
        loadAverage: Math.round(os.loadavg()[0] * 10) / 10,
        from,
        to,
        leader,
      };
    };

    ctx.log(`  cron: N=${n} instances, J=0 baseline window ${windowSeconds} s …`);
    const baseline = await measure(0);
    // The same crash without jobs: the failover the jobs' crash below is compared with. The killed
    // instance is replaced by a fresh process, so that N instances run the jobs.
    const baselineLeader = baseline.leader;
    const k0 = wallNow();
    signal(baselineLeader.child.pid, 'SIGKILL');
    await waitExit(baselineLeader.child, 5_000);
    await until('a leader after the J = 0 crash', () => leaderOf() !== undefined, 60_000);
    const failoverWithoutJobsMs = Math.round(
      Math.min(
        ...instances.flatMap((i) =>
          i.events.filter((e) => e.ev === 'leader' && e.at! > k0).map((e) => e.at!),
        ),
      ) - k0,
    );
    ctx.log(`  cron: J=0 crash failover ${failoverWithoutJobsMs} ms`);
    const replaced = instances.indexOf(baselineLeader);
    instances[replaced] = await spawnInstance(`${baselineLeader.id}-b`);
    await until(
      'the replacement ready',
      () => instances[replaced].events.some((e) => e.ev === 'ready'),
      90_000,
    );
    for (const instance of instances) instance.child.stdin?.write(`jobs ${jobs}\n`);
    await until(
      'the jobs started',
      () => instances.every((i) => i.events.some((e) => e.ev === 'jobs')),
      30_000,
    );
    // Past the first fires (each job's first read, record created).
    await delay(5_000);
    ctx.log(`  cron: J=${jobs} window ${windowSeconds} s …`);
    const loaded = await measure(jobs);
    const leader = leaderOf()!;
    // Counted over every instance: a deposed leader still writes its runs' outcomes.
    const requestsIn = (from: number, to: number) =>
      started.flatMap((i) => countedBetween(i.proxy, from, to));
    const withJobs = requestsIn(loaded.from, loaded.to);
    const baseRequests = requestsIn(baseline.from, baseline.to);
    const scale = (loaded.to - loaded.from) / (baseline.to - baseline.from);
    const writes = (list: typeof withJobs): number => list.filter((r) => isWrite(r.kind)).length;
    const jobTxns = started
      .flatMap((i) => i.proxy.seen)
      .map((s) => ({ s, at: performance.timeOrigin + s.at }))
      .filter(({ s, at }) => at >= loaded.from && at < loaded.to && s.path === '/v1/txn')
      .map(({ s }) => txnVerbs(s.body))
      .filter((verbs) => verbs.includes('cas'));
    const decisions = jobTxns.filter((verbs) => verbs.includes('check-session')).length;
    const outcomes = jobTxns.length - decisions;
    const fires = Math.max(1, loaded.fires);
    const decided = Math.max(1, loaded.fires + loaded.skipped);
    const lags = instances.flatMap((i) =>
      i.events
        .filter((e) => e.ev === 'fire' && e.at! >= loaded.from && e.at! < loaded.to)
        .map((e) => e.at! - e.T!),
    );

    // The crash: SIGKILL the leader's process; the next leader's first fire of each job.
    let crash: CronResult['crash'] = null;
    const t0 = wallNow();
    signal(leader.child.pid, 'SIGKILL');
    await waitExit(leader.child, 5_000);
    const rest = instances.filter((i) => i !== leader);
    try {
      await until(
        'every job fired on the next leader',
        () =>
          new Set(
            rest.flatMap((i) =>
              i.events.filter((e) => e.ev === 'fire' && e.at! > t0).map((e) => e.job),
            ),
          ).size >= jobs,
        60_000,
      );
    } catch (error) {
      ctx.log(`  cron: ${(error as Error).message}`);
    }
    await delay(2_000);
    const next = rest.find((i) => i.events.some((e) => e.ev === 'leader' && e.at! > t0));
    if (next) {
      const leaderAt = next.events.find((e) => e.ev === 'leader' && e.at! > t0)!.at!;
      const firstByJob = new Map<string, CronEvent>();
      for (const e of next.events)
        if (e.ev === 'fire' && e.at! > t0 && !firstByJob.has(e.job!)) firstByJob.set(e.job!, e);
      const firstLags = [...firstByJob.values()].map((e) => e.at! - e.T!);
      const skipsAfter = next.events.filter(
        (e) => e.ev === 'skip' && e.reason === 'misfire' && e.at! > t0,
      );
      crash = {
        failoverMs: Math.round(leaderAt - t0),
        firstFireLag: summarize(firstLags),
        firstFireAfterKillMs: Math.round(
          Math.min(...[...firstByJob.values()].map((e) => e.at!)) - t0,
        ),
        lateRuns: firstLags.filter((lag) => lag > 1_000).length,
        skippedMisfire: skipsAfter.reduce((sum, e) => sum + (e.n ?? 1), 0),
        jobsWithoutFire: jobs - firstByJob.size,
      };
    }
    return {
      instances: n,
      jobs,
      baseline: strip(baseline),
      loaded: strip(loaded),
      raftWritesPerFire: round(
        ((loaded.raftAppliedPerSecond - baseline.raftAppliedPerSecond) * loaded.seconds) / decided,
      ),
      jobWritesPerFire: round((writes(withJobs) - writes(baseRequests) * scale) / decided),
      decisionsPerFire: round(decisions / decided),
      outcomesPerStartedFire: round(outcomes / fires),
      requestsPerFire: round((withJobs.length - baseRequests.length * scale) / decided),
      lag: summarize(lags),
      failoverWithoutJobsMs,
      crash,
      what:
        `N=${n} instances (one process each, each through its own counting proxy, default timings) on one dev agent; ` +
        `J=${jobs} jobs '* * * * * *' (overlap skip, misfire run-once, no-op handler) run by the leader. ` +
        `Windows of ${windowSeconds} s: J=0 (the same processes before their jobs start), then J=${jobs}. ` +
        `Raft writes from the agent's applied_index. SIGKILL of the leader's process after the J=0 window (replaced by a fresh process) and again with J=${jobs}.`,
    };
  } finally {
    for (const instance of started) signal(instance.child.pid, 'SIGTERM');
    await Promise.all(started.map((i) => waitExit(i.child, 15_000)));
    for (const instance of started) {
      if (instance.child.exitCode === null && instance.child.signalCode === null)
        signal(instance.child.pid, 'SIGKILL');
      await instance.proxy.close();
    }
  }
}

/** The window as the results keep it: without its bounds and its leader's process and proxy. */
function strip({
  from: _from,
  to: _to,
  leader: _leader,
  ...window
}: CronWindow & { from: number; to: number; leader: Instance }): CronWindow {
  return window;
}
