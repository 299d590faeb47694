// Scenario 4, steady state: what one leader and one follower ask of Consul per second when nothing
// happens, each through its own counting proxy; `consul lock`'s holder and waiter the same way, in
// the same window. Counted once both have led/waited for a while (start-up requests excluded).
import { CandidateProcess, firstLeaderAfter, waitForCandidates } from '../lib/candidates';
import { ConsulLockContender } from '../lib/consul-lock';
import type { BenchContext } from '../lib/context';
import { delay, startHttpFaultProxy, type HttpFaultProxy } from '../../harness';
import { countByKind, countedBetween, isWrite, type RequestKind } from '../lib/request-kinds';
import { wallNow } from '../lib/processes';

export interface Rate {
  readonly requestsPerSecond: number;
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  readonly byKind: Partial<Record<RequestKind, number>>;
}

export interface SteadyResult {
  readonly windowSeconds: number;
  readonly leader: Rate;
  readonly follower: Rate;
  readonly consulLockHolder: Rate;
  readonly consulLockWaiter: Rate;
  readonly what: string;
}

export async function runSteady(ctx: BenchContext): Promise<SteadyResult> {
  const windowSeconds = ctx.quick ? 15 : 60;
  const target = { host: ctx.agent.host, port: ctx.agent.port };
  const proxies = await Promise.all([0, 1, 2, 3].map(() => startHttpFaultProxy(target)));
  const [leaderProxy, followerProxy, holderProxy, waiterProxy] = proxies;
  const key = ctx.uniqueKey('steady');
  const prefix = ctx.uniqueKey('steady-consul-lock');
  const processes: CandidateProcess[] = [];
  const contenders: ConsulLockContender[] = [];
  try {
    const leader = new CandidateProcess(
      ctx.registry,
      { host: '127.0.0.1', port: leaderProxy.port },
      key,
      'steady-leader',
      1,
    );
    processes.push(leader);
    const holder = new ConsulLockContender(
      ctx.registry,
      ctx.agent.binary,
      `127.0.0.1:${holderProxy.port}`,
      prefix,
    );
    contenders.push(holder);
    await firstLeaderAfter([leader], 0, 30_000);
    await holder.whenRunning(30_000);
    const follower = new CandidateProcess(
      ctx.registry,
      { host: '127.0.0.1', port: followerProxy.port },
      key,
      'steady-follower',
      1,
    );
    processes.push(follower);
    contenders.push(
      new ConsulLockContender(
        ctx.registry,
        ctx.agent.binary,
        `127.0.0.1:${waiterProxy.port}`,
        prefix,
      ),
    );
    await follower.ready();
    await waitForCandidates(ctx.agent.address, leader.serviceName!, 2);
    // Past start-up: sessions made, checks switched, first blocking queries parked.
    await delay(ctx.quick ? 3_000 : 5_000);
    const from = wallNow();
    await delay(windowSeconds * 1000);
    const to = wallNow();
    const rate = (proxy: HttpFaultProxy): Rate => {
      const requests = countedBetween(proxy, from, to);
      const seconds = (to - from) / 1000;
      const writes = requests.filter((r) => isWrite(r.kind)).length;
      const round = (value: number): number => Math.round(value * 1000) / 1000;
      return {
        requestsPerSecond: round(requests.length / seconds),
        writesPerSecond: round(writes / seconds),
        readsPerSecond: round((requests.length - writes) / seconds),
        byKind: countByKind(requests),
      };
    };
    return {
      windowSeconds,
      leader: rate(leaderProxy),
      follower: rate(followerProxy),
      consulLockHolder: rate(holderProxy),
      consulLockWaiter: rate(waiterProxy),
      what: `Requests started during a ${windowSeconds} s window after 3–5 s of settling, default timings, one process each, each through its own counting proxy (blocking queries count when they start).`,
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(contenders.map((c) => c.terminate()));
    await Promise.all(proxies.map((p) => p.close()));
  }
}
