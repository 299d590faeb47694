// Scenario 2, crash failover with default timings: SIGKILL of the leader's process → the next
// leader's first leader action (its state turns leader, when @LeaderOnly work may run). Each
// candidate runs in its own process; after each kill a fresh follower joins, so the chain goes on.
import { CandidateProcess, diagnose, firstLeaderAfter, waitForCandidates } from '../lib/candidates';
import { ConsulLockContender } from '../lib/consul-lock';
import type { BenchContext } from '../lib/context';
import { delay } from '../../harness';
import { wallNow } from '../lib/processes';
import { summarize, type Distribution } from '../lib/stats';

export interface CrashResult {
  readonly ours: Distribution;
  /** Kills after which no follower led within a minute, with what Consul showed then. */
  readonly failures: readonly string[];
  /** Times the leadership moved while no one was killed (during set-up), with what Consul showed. */
  readonly spuriousFailovers: readonly string[];
  readonly what: string;
}

export interface ConsulLockCrashResult {
  readonly consulLock: Distribution | null;
  readonly what: string;
}

/** How long a leader leads before it is killed (it switches to its short leading check right after its acquire). */
const LEAD_BEFORE_KILL_MS = 3_000;
const LEAD_BEFORE_KILL_QUICK_MS = 2_000;
const NO_LEADER_AFTER_MS = 60_000;

export async function runCrash(ctx: BenchContext): Promise<CrashResult> {
  const n = ctx.quick ? 3 : 20;
  const key = ctx.uniqueKey('crash');
  const consul = { host: ctx.agent.host, port: ctx.agent.port };
  const samples: number[] = [];
  const failures: string[] = [];
  const spurious: string[] = [];
  const processes: CandidateProcess[] = [];
  const spawn = async (i: number): Promise<CandidateProcess> => {
    const candidate = new CandidateProcess(ctx.registry, consul, key, `crash-${i}`, 1);
    processes.push(candidate);
    await candidate.ready();
    return candidate;
  };
  try {
    let leader = await spawn(0);
    await firstLeaderAfter([leader], 0, 30_000);
    for (let i = 1; i <= n; i++) {
      const follower = await spawn(i);
      await waitForCandidates(ctx.agent.address, leader.serviceName!, 2);
      await delay(ctx.quick ? LEAD_BEFORE_KILL_QUICK_MS : LEAD_BEFORE_KILL_MS);
      if (!leader.leading || follower.leading) {
        // Leadership moved without a kill (the leader's 2 s check expired while the machine was busy
        // starting the follower): not a crash sample, but worth reporting.
        spurious.push(
          `before kill ${i}: ${await diagnose(ctx.agent.address, key, follower.serviceName)}`,
        );
        ctx.log(
          `  crash ${i}/${n}: leadership moved before the kill (spurious failover); continuing with the new leader`,
        );
        if (follower.leading) leader = follower;
        i--;
        if (spurious.length > n) throw new Error('too many spurious failovers');
        continue;
      }
      const t0 = wallNow();
      leader.kill();
      try {
        const next = await firstLeaderAfter([follower], t0, NO_LEADER_AFTER_MS);
        samples.push(next.at! - t0);
        ctx.log(`  crash ${i}/${n}: ${Math.round(next.at! - t0)} ms`);
        leader = follower;
      } catch {
        const state = await diagnose(ctx.agent.address, key, follower.serviceName);
        // Counted, censored at the timeout, so that a failure shows in the percentiles.
        samples.push(NO_LEADER_AFTER_MS);
        failures.push(
          `kill ${i}: no leader within ${NO_LEADER_AFTER_MS / 1000} s; Consul: ${state}`,
        );
        ctx.log(`  crash ${i}/${n}: NO LEADER within ${NO_LEADER_AFTER_MS / 1000} s — ${state}`);
        leader = follower;
        await firstLeaderAfter([follower], t0, NO_LEADER_AFTER_MS).catch(() => undefined);
      }
    }
  } finally {
    await Promise.all(processes.map((candidate) => candidate.stop()));
  }
  return {
    ours: summarize(samples),
    failures,
    spuriousFailovers: spurious,
    what: `SIGKILL of the leader process (led ≥ ${(ctx.quick ? LEAD_BEFORE_KILL_QUICK_MS : LEAD_BEFORE_KILL_MS) / 1000} s) → the follower process's state turns leader (wall clock). Default timings: check ttl 2s, lockDelay 2.5s, lease 2.5s. n=${n}.`,
  };
}

/**
 * `consul lock` crash: SIGKILL of the holder → the waiter's child runs (~43 s each on 1.8.7: 2 × 15 s
 * session TTL, then 15 s lock-delay, retried every 5 s). Pairs run concurrently, a few seconds apart,
 * since they only wait on Consul's timers; in quick mode it is skipped and the anchor is cited.
 */
export async function runConsulLockCrash(ctx: BenchContext): Promise<ConsulLockCrashResult> {
  if (ctx.quick) {
    return {
      consulLock: null,
      what: 'skipped in --quick; anchor measured once on this machine class: median 42.8 s, 38.4–44.6 s, n = 8',
    };
  }
  const n = 3;
  const httpAddr = `${ctx.agent.host}:${ctx.agent.port}`;
  const one = async (i: number): Promise<number> => {
    await delay(i * 4_000);
    const prefix = ctx.uniqueKey(`crash-consul-lock-${i}`);
    const holder = new ConsulLockContender(ctx.registry, ctx.agent.binary, httpAddr, prefix);
    await holder.whenRunning(30_000);
    const waiter = new ConsulLockContender(ctx.registry, ctx.agent.binary, httpAddr, prefix);
    // Let the holder renew once and the waiter settle into its blocking query, as in a running system.
    await delay(LEAD_BEFORE_KILL_MS);
    const t0 = performance.now();
    await holder.kill();
    try {
      const t1 = await waiter.whenRunning(120_000);
      ctx.log(`  consul lock crash ${i + 1}/${n}: ${Math.round(t1 - t0)} ms`);
      return t1 - t0;
    } finally {
      await waiter.terminate();
    }
  };
  const samples = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  return {
    consulLock: summarize(samples),
    what: `SIGKILL of the consul lock holder → the waiter's child prints RUNNING. n=${n}, run concurrently (staggered 4 s) with the steady-state scenario.`,
  };
}
