// The chaos run's load rule: the simulator's (test/sim/load-bound.ts), the figure SAFETY.md
// ("Load") and docs/guarantees.md promise, from each process's own options — per process (7 loops)
// and per loop where the request tells its loop (the hold's confirmation, the candidates watch).
// The requests are those each candidate's HTTP proxy saw, told apart by process: a request belongs
// to the incarnation that started last before it arrived (a candidate's processes run one after
// another: a restart follows a SIGKILL or a stop that returned).
import type { ElectionOptions } from '../../lib/election';
import type { SeenRequest } from '../../harness/http-fault-proxy';
import {
  loopOf,
  requestsPerSecondPerLoopInTrueTime,
  requestsPerSecondPerProcess,
} from '../sim/load-bound';
import { busiestSecond } from '../sim/checker';

/** One start of a candidate's process: when (`performance.now()`), its name, its options. */
export interface ProcessStart {
  readonly at: number;
  readonly name: string;
  readonly options: Partial<ElectionOptions>;
}

/** What the checker's load rule reads (History's requests, loopRequests and their bounds). */
export interface ChaosLoad {
  readonly requests: Map<string, number[]>;
  readonly loopRequests: Map<string, Map<string, number[]>>;
  readonly perProcess: Map<string, number>;
  readonly perLoop: Map<string, number>;
}

/** A transaction that writes (acquire, rewrite, release) as against the confirmation's reads. */
function writes(body: string): boolean {
  try {
    const operations = JSON.parse(body) as Array<{ KV?: { Verb?: string } }>;
    return operations.some((op) => !!op.KV?.Verb && !/^(get|check-)/.test(op.KV.Verb));
  } catch {
    return true;
  }
}

/** The client call a proxied request is, in the terms loopOf reads. */
export function callOf(request: Pick<SeenRequest, 'method' | 'path' | 'query' | 'body'>): {
  name: string;
  write: boolean;
  passingOnly?: boolean;
} {
  if (request.path === '/v1/txn')
    return { name: 'Transaction.create', write: writes(request.body) };
  if (request.path.startsWith('/v1/health/service/'))
    return { name: 'health.service', write: false, passingOnly: request.query.has('passing') };
  return { name: `${request.method} ${request.path}`, write: request.method !== 'GET' };
}

/** A request of a ClusterCron runner: it reads or writes a job's record under `<key>/jobs/`. */
function isJobRequest(request: Pick<SeenRequest, 'path' | 'body'>): boolean {
  if (request.path.includes('/jobs/')) return true;
  return request.path === '/v1/txn' && request.body.includes('/jobs/');
}

/**
 * Each candidate's requests by process, in the run's monotonic time (`offset` added), with each
 * process's bounds from the options it ran with.
 */
export function chaosLoad(
  candidates: ReadonlyArray<{
    readonly key: string;
    readonly starts: readonly ProcessStart[];
    readonly seen: readonly SeenRequest[];
  }>,
  offset: number,
): ChaosLoad {
  const load: ChaosLoad = {
    requests: new Map(),
    loopRequests: new Map(),
    perProcess: new Map(),
    perLoop: new Map(),
  };
  for (const { key, starts, seen } of candidates) {
    for (const start of starts) {
      const options = { ...start.options, key };
      load.perProcess.set(start.name, requestsPerSecondPerProcess(options));
      load.perLoop.set(start.name, requestsPerSecondPerLoopInTrueTime(options));
      load.requests.set(start.name, []);
      load.loopRequests.set(start.name, new Map());
    }
    for (const request of seen) {
      // The ClusterCron runners' requests (their records under `<key>/jobs/`) are not the
      // election's: the bound is the election's, as the simulator counts it (sim-process.ts).
      if (isJobRequest(request)) continue;
      const start = [...starts].reverse().find((s) => s.at <= request.at) ?? starts[0];
      if (!start) continue;
      const at = request.at + offset;
      load.requests.get(start.name)!.push(at);
      const loop = loopOf(callOf(request));
      if (!loop) continue;
      const loops = load.loopRequests.get(start.name)!;
      loops.set(loop, [...(loops.get(loop) ?? []), at]);
    }
  }
  return load;
}

/** The busiest second of any process and of any loop, against its bound: how close the run came. */
export function loadSummary(load: ChaosLoad): string {
  let process = { count: 0, bound: 0, who: '' };
  for (const [who, times] of load.requests) {
    const { count } = busiestSecond(times);
    if (count > process.count) process = { count, bound: load.perProcess.get(who) ?? 0, who };
  }
  let loop = { count: 0, bound: 0, who: '' };
  for (const [who, loops] of load.loopRequests) {
    for (const [name, times] of loops) {
      const { count } = busiestSecond(times);
      if (count > loop.count)
        loop = { count, bound: load.perLoop.get(who) ?? 0, who: `${who} (${name})` };
    }
  }
  return (
    `busiest second ${process.count} requests (${process.who || 'none'}, bound ${process.bound}), ` +
    `of one loop ${loop.count} (${loop.who || 'none'}, bound ${loop.bound})`
  );
}
