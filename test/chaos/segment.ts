// One segment of a chaos run: candidate processes on one Consul world (a 3-server cluster, or a dev
// agent with ACLs), a seeded nemesis that injects faults in groups, a calm after each group in which a
// leader is owed within a bound, a graceful stop of everyone, and the checker over the shared log.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ElectionOptions } from '../../lib/election';
import { Prng } from '../support/prng';
import {
  check,
  checkLiveness,
  type ActingInterval,
  type History,
  type Violation,
} from '../sim/checker';
import { CHAOS_JOBS } from './candidate-jobs';
import { LogReader, monotonicMs, type ActRecord } from './chaos-log';
import { checkCronLedger, type CronViolation, type JobLedgerStats } from './cron-ledger';
import { CandidateProcess } from './candidate-process';
import { chaosLoad, loadSummary } from './load';
import { ConsulWorld, type CandidateToken, type WorldKind } from './consul-world';

export type FaultKind =
  | 'sigkill'
  | 'sigstop'
  | 'partition'
  | 'slow'
  | 'key-delete'
  | 'session-destroy'
  | 'acl-revoke'
  | 'key-rule-revoke'
  | 'agent-restart'
  | 'server-restart'
  | 'raft-leader-kill'
  | 'rolling-restart';

export interface FaultRecord {
  readonly kind: FaultKind;
  /** A candidate instance, a server, or `consul`. */
  readonly target: string;
  readonly at: number;
  healedAt: number | null;
  detail?: string;
}

export interface Calm {
  /** Every fault of the group had healed (processes restarted or resumed, links back, servers up). */
  readonly healedAt: number;
  /** First leader action after it, ms after `healedAt`; null if none within the bound + 5 s. */
  readonly leaderAfterMs: number | null;
}

/** Short, valid timings: a fault every second or so still lets a leader come back between groups. */
export const CHAOS_TIMINGS = {
  leaseDuration: '1s',
  lockDelay: '1s',
  // A Raft election on the cluster takes about a second; a request gets some room while it moves.
  requestTimeout: '300ms',
  sessionTtl: '2s',
  sessionTtlMin: '1s',
  healthCheck: { ttl: '1s', standbyTtl: '2s', deregisterCriticalServiceAfter: '1m' },
  successionStep: '100ms',
  watchWait: '5s',
  resignPause: '300ms',
  drainTimeout: '1s',
  retry: { initialDelay: '50ms', maxDelay: '1s' },
} satisfies Partial<ElectionOptions>;

/**
 * What a rolling restart rolls out (and the next one rolls back): a shorter lease, 800 ms instead
 * of 1 s, with the same renewal cadence (the load bound holds) and a request timeout that fits it.
 * A successor with it must still wait out the 1 s a process of the old configuration may act on.
 */
export const CHAOS_SHORT_LEASE = {
  leaseDuration: '800ms',
  renewInterval: '500ms',
  requestTimeout: '250ms',
} satisfies Partial<ElectionOptions>;

const D = 1_000;
const LOCK_DELAY = 1_000;
const SESSION_TTL = 2_000;
const STEP = 100;
const MAX_DELAY = 1_000;
const REQUEST_TIMEOUT = 300;
/** Longest SIGSTOP the nemesis makes (3 × D). */
const MAX_PAUSE = 3 * D;

/**
 * After every fault of a group healed, a leader acts within: the dead holder's session invalidated
 * (Consul's session TTL expires at up to 2 × TTL, the health check sooner), lock-delay, the lease D a
 * successor waits without a release marker, the succession slots, one backoff, four request timeouts,
 * and 2 s for a restarted process to load and a restarted server's Raft to settle.
 */
export function livenessBoundMs(candidates: number): number {
  return (
    2 * SESSION_TTL +
    LOCK_DELAY +
    D * 1.02 +
    (candidates + 2) * STEP +
    MAX_DELAY +
    4 * REQUEST_TIMEOUT +
    2_000
  );
}

const WEIGHTS: Record<WorldKind, ReadonlyArray<readonly [number, FaultKind]>> = {
  cluster: [
    [14, 'sigkill'],
    [14, 'sigstop'],
    [16, 'partition'],
    [14, 'slow'],
    [12, 'key-delete'],
    [12, 'session-destroy'],
    [4, 'server-restart'],
    [4, 'raft-leader-kill'],
    [3, 'rolling-restart'],
  ],
  'acl-agent': [
    [14, 'sigkill'],
    [14, 'sigstop'],
    [16, 'partition'],
    [14, 'slow'],
    [12, 'key-delete'],
    [12, 'session-destroy'],
    [12, 'acl-revoke'],
    [8, 'key-rule-revoke'],
    [4, 'agent-restart'],
    [3, 'rolling-restart'],
  ],
};

const INFRA: ReadonlySet<FaultKind> = new Set([
  'agent-restart',
  'server-restart',
  'raft-leader-kill',
  'rolling-restart',
]);
const PER_CANDIDATE: ReadonlySet<FaultKind> = new Set([
  'sigkill',
  'sigstop',
  'partition',
  'slow',
  'acl-revoke',
  'key-rule-revoke',
]);

export interface SegmentOptions {
  readonly world: WorldKind;
  readonly faults: number;
  /** Monotonic ms after which no new fault group starts. */
  readonly deadline: number;
  readonly seed: number;
  readonly candidates: number;
  readonly outDir: string;
  /** Where the candidate script runs from: the repository, or a mutant's scratch copy. */
  readonly root: string;
  readonly log: (line: string) => void;
}

export interface SegmentResult {
  readonly world: WorldKind;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly faults: readonly FaultRecord[];
  readonly calms: readonly Calm[];
  readonly livenessBoundMs: number;
  readonly intervals: readonly ActingInterval[];
  readonly instances: readonly string[];
  readonly wipes: readonly number[];
  readonly leftovers: readonly string[];
  readonly stopOutcomes: Readonly<Record<string, 'stopped' | 'killed'>>;
  readonly imprecise: number;
  readonly tornLines: number;
  readonly violations: ReadonlyArray<Violation | CronViolation>;
  /** The ClusterCron jobs' ledger, per job. */
  readonly cron: Readonly<Record<string, JobLedgerStats>>;
  readonly error: string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `probe` says yes or the time is up; false when it never did. */
async function waitFor(probe: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = monotonicMs() + timeoutMs;
  while (monotonicMs() < deadline) {
    if (probe()) return true;
    await sleep(everyMs);
  }
  return probe();
}

/** Actions (steps sharing a process and an action number) as the checker's acting intervals. */
export function actingIntervals(acts: readonly ActRecord[]): ActingInterval[] {
  const byAction = new Map<
    string,
    { process: string; fencingToken: number; from: number; to: number }
  >();
  for (const act of acts) {
    const id = `${act.p}|${act.a}|${act.tok}`;
    const known = byAction.get(id);
    if (!known)
      byAction.set(id, { process: act.p, fencingToken: act.tok, from: act.t0, to: act.t1 });
    else {
      known.from = Math.min(known.from, act.t0);
      known.to = Math.max(known.to, act.t1);
    }
  }
  return [...byAction.values()];
}

export async function runSegment(options: SegmentOptions): Promise<SegmentResult> {
  const { log } = options;
  const prng = new Prng(options.seed);
  const outDir = join(options.outDir, options.world);
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'actions.jsonl');
  writeFileSync(logFile, '');
  const reader = new LogReader(logFile);
  const key = `chaos/${options.world}/leader`;
  const serviceName = `leader-chaos-${options.world}-leader`;
  const bound = livenessBoundMs(options.candidates);
  const faults: FaultRecord[] = [];
  const calms: Calm[] = [];
  const wipes: number[] = [];
  const stopOutcomes: Record<string, 'stopped' | 'killed'> = {};
  let error: string | null = null;
  // performance.now() (the proxies' request times) and the monotonic clock differ by a constant.
  const perfOffset = monotonicMs() - performance.now();

  log(`[${options.world}] starting Consul`);
  const world = await ConsulWorld.start(options.world);
  const tokens = new Map<string, CandidateToken>();
  const candidates: CandidateProcess[] = [];
  const startedAt = monotonicMs();
  try {
    for (let i = 0; i < options.candidates; i += 1) {
      const instanceId = `c${i + 1}`;
      let token: CandidateToken | undefined;
      if (world.kind === 'acl-agent') {
        token = { accessorId: randomUUID(), secretId: randomUUID() };
        tokens.set(instanceId, token);
        await world.grant(token);
      }
      candidates.push(
        await CandidateProcess.create({
          key,
          instanceId,
          agent: world.agentOf(i),
          token,
          logFile,
          outDir,
          options: { ...CHAOS_TIMINGS, healthCheck: { ...CHAOS_TIMINGS.healthCheck, serviceName } },
          root: options.root,
        }),
      );
    }
    candidates.forEach((candidate) => candidate.start());
    const firstLeader = await waitFor(
      () => reader.poll().length >= 0 && reader.records.some((r) => r.k === 'act'),
      30_000,
    );
    if (!firstLeader) throw new Error('no candidate led within 30 s of the start');
    log(`[${options.world}] first leader acts; nemesis begins (${options.faults} faults)`);

    const lastActor = (): CandidateProcess | undefined => {
      reader.poll();
      for (let i = reader.records.length - 1; i >= 0; i -= 1) {
        const record = reader.records[i];
        if (record.k !== 'act') continue;
        if (record.t1 < monotonicMs() - 500) return undefined;
        return candidates.find((c) => c.instanceId === record.p.split('#')[0]);
      }
      return undefined;
    };

    const target = (): CandidateProcess | undefined => {
      const free = candidates.filter((c) => !c.busy);
      const leader = lastActor();
      if (leader && !leader.busy && prng.chance(0.5)) return leader;
      return free.length ? prng.pick(free) : undefined;
    };

    /**
     * While the leader is cut off or slow, an operator often deletes the key or destroys its session:
     * the old leader learns of it late, so its successor must wait out its lease (a key delete has no
     * lock-delay). Counted as a fault of its own.
     */
    const operatorWhileCutOff = async (
      victim: CandidateProcess,
      wasLeader: boolean,
    ): Promise<void> => {
      if (!wasLeader || !prng.chance(0.6)) return;
      await sleep(prng.between(50, 400));
      const kind = prng.pick(['key-delete', 'key-delete', 'session-destroy'] as const);
      // The group's loop may have reached the count meanwhile.
      if (faults.length >= options.faults) return;
      const record: FaultRecord = {
        kind,
        target: 'operator',
        at: monotonicMs(),
        healedAt: null,
        detail: `while ${victim.instanceId} (leader) was cut off`,
      };
      faults.push(record);
      await inject(kind, record).catch((cause: Error) => {
        record.detail = `${record.detail} failed: ${cause.message.split('\n')[0]}`;
      });
      record.healedAt = monotonicMs();
    };

    /**
     * Key rules taken away for the group and its calm (issue 18): the others can lead, so the calm
     * owes a leader while they last. Each gives its rule back once the calm has been measured.
     */
    const keyRulesTaken: Array<() => void> = [];

    /** Applies one fault; resolves when it has healed. */
    const inject = async (
      kind: FaultKind,
      fault: { target: string; detail?: string },
      wasLeader = false,
    ): Promise<void> => {
      const candidate = candidates.find((c) => c.instanceId === fault.target);
      switch (kind) {
        case 'sigkill': {
          await candidate!.kill();
          await sleep(prng.between(200, 1_500));
          candidate!.start();
          return;
        }
        case 'sigstop': {
          const ms = prng.between(1.3 * D, MAX_PAUSE);
          fault.detail = `${ms.toFixed(0)} ms`;
          candidate!.signal('SIGSTOP');
          await sleep(ms);
          candidate!.signal('SIGCONT');
          return;
        }
        case 'partition': {
          const ms = prng.between(300, 3_000);
          fault.detail = `${ms.toFixed(0)} ms`;
          candidate!.tcp.partition();
          await Promise.all([sleep(ms), operatorWhileCutOff(candidate!, wasLeader)]);
          candidate!.tcp.heal();
          return;
        }
        case 'slow': {
          const ms = prng.between(500, 3_000);
          const hold = prng.between(100, 700);
          fault.detail = `answers held ${hold.toFixed(0)} ms for ${ms.toFixed(0)} ms`;
          const remove = candidate!.http.inject({}, { kind: 'hold', ms: hold });
          await Promise.all([sleep(ms), operatorWhileCutOff(candidate!, wasLeader)]);
          remove();
          return;
        }
        case 'acl-revoke': {
          const token = tokens.get(fault.target)!;
          const ms = prng.between(500, 3_000);
          fault.detail = `${ms.toFixed(0)} ms`;
          await world.revoke(token);
          await sleep(ms);
          await world.grant(token);
          return;
        }
        case 'key-rule-revoke': {
          const token = tokens.get(fault.target)!;
          fault.detail = `${wasLeader ? 'the leader: ' : ''}every rule but the key rule, through the calm`;
          // Listed for the calm before the rule is taken: on a loaded agent the calm can end
          // before the revocation returns, and a resolver listed after it was never called (the
          // run of seed 7 hung there, 170 faults into the acl-agent world).
          const calmEnded = new Promise<void>((resolve) => keyRulesTaken.push(resolve));
          await world.keyRule(token, false);
          await calmEnded;
          await world.keyRule(token, true);
          return;
        }
        case 'key-delete':
          await world.deleteKey(key);
          return;
        case 'session-destroy':
          fault.detail = `session ${(await world.destroySession(key)) ?? 'none'}`;
          return;
        case 'agent-restart':
          wipes.push(monotonicMs());
          await world.restartAgent([...tokens.values()]);
          return;
        case 'server-restart': {
          const cluster = world.cluster!;
          const leader = await cluster.raftLeaderIndex();
          const i = prng.pick([0, 1, 2].filter((s) => s !== leader));
          fault.detail = `server ${i}`;
          await cluster.killServer(i, 'SIGKILL');
          await sleep(prng.between(300, 2_000));
          await cluster.restartServer(i);
          return;
        }
        case 'rolling-restart': {
          // Every candidate in turn: SIGTERM (stop()), then started again with the shorter lease
          // (or back to the 1 s one), 0.3–1 s apart; the leader cut off and the key deleted while
          // the others are restarted, in half the cases, so a new successor must wait out the old D.
          const shorter = candidates.some((c) => c.options === null);
          const rest = [...candidates];
          const order = candidates.map(() => rest.splice(prng.int(0, rest.length - 1), 1)[0]);
          const leader = lastActor();
          fault.detail = `${shorter ? 'leaseDuration 800 ms' : 'back to 1 s'}: ${order.map((c) => c.instanceId).join(' ')}`;
          for (const candidate of order) {
            candidate.busy = true;
            try {
              if (candidate === leader && prng.chance(0.5)) {
                candidate.tcp.partition();
                await sleep(prng.between(50, 300));
                await world.deleteKey(key);
                await sleep(prng.between(0, 600));
                candidate.tcp.heal();
              }
              await candidate.stop(5_000);
              candidate.options = shorter
                ? {
                    ...CHAOS_TIMINGS,
                    ...CHAOS_SHORT_LEASE,
                    healthCheck: { ...CHAOS_TIMINGS.healthCheck, serviceName },
                  }
                : null;
              candidate.start();
              // The next goes only once this one runs (maxUnavailable 1): a process takes seconds
              // to load on a busy machine, and a leader is owed after the heal.
              const name = `${candidate.instanceId}#${candidate.incarnation}`;
              await waitFor(() => {
                reader.poll();
                return reader.records.some((r) => r.k === 'started' && r.p === name);
              }, 30_000);
            } finally {
              candidate.busy = false;
            }
            await sleep(prng.between(300, 1_000));
          }
          return;
        }
        case 'raft-leader-kill': {
          const cluster = world.cluster!;
          let leader = await cluster.raftLeaderIndex();
          if (leader === -1) leader = await cluster.waitForRaftLeader();
          fault.detail = `server ${leader}`;
          await cluster.killServer(leader, 'SIGKILL');
          await cluster.waitForRaftLeader(30_000, leader);
          await sleep(prng.between(300, 1_500));
          await cluster.restartServer(leader);
          return;
        }
      }
    };

    while (faults.length < options.faults && monotonicMs() < options.deadline) {
      const size = Math.min(prng.int(3, 8), options.faults - faults.length);
      const pending: Array<Promise<void>> = [];
      const lasting: Array<Promise<void>> = [];
      for (let n = 0; n < size && faults.length < options.faults; n += 1) {
        await sleep(prng.between(300, 1_200));
        let kind = prng.weighted(WEIGHTS[options.world]);
        let victim: CandidateProcess | undefined;
        let wasLeader = false;
        // One key rule taken per group, so that the others can lead in its calm.
        if (kind === 'key-rule-revoke' && lasting.length > 0) kind = 'acl-revoke';
        if (PER_CANDIDATE.has(kind)) {
          // Mostly the holder, found in Consul: the one whose lost key rule left no leader.
          const holder =
            kind === 'key-rule-revoke' && prng.chance(0.8)
              ? await world.holderOf(key).catch(() => null)
              : null;
          const leader = candidates.find((c) => c.instanceId === holder && !c.busy);
          victim = leader ?? target();
          wasLeader = victim !== undefined && (victim === leader || victim === lastActor());
          if (!victim) kind = prng.pick(['key-delete', 'session-destroy'] as const);
        }
        // A server or agent restart waits for the group's other faults to heal, then runs alone.
        if (INFRA.has(kind)) await Promise.all(pending.splice(0));
        const record: FaultRecord = {
          kind,
          target: victim?.instanceId ?? (INFRA.has(kind) ? 'consul' : 'operator'),
          at: monotonicMs(),
          healedAt: null,
        };
        faults.push(record);
        if (victim) victim.busy = true;
        const healed = inject(kind, record, wasLeader)
          .catch((cause: Error) => {
            record.detail = `${record.detail ?? ''} failed: ${cause.message.split('\n')[0]}`;
            if (INFRA.has(kind)) throw cause;
          })
          .finally(() => {
            record.healedAt = monotonicMs();
            if (victim) victim.busy = false;
          });
        if (INFRA.has(kind)) await healed;
        else if (kind === 'key-rule-revoke') lasting.push(healed);
        else pending.push(healed);
      }
      await Promise.all(pending);
      const healedAt = monotonicMs();
      const acted = await waitFor(() => {
        reader.poll();
        return reader.records.some((r) => r.k === 'act' && r.t0 > healedAt);
      }, bound + 5_000);
      const first = reader.records.find((r): r is ActRecord => r.k === 'act' && r.t0 > healedAt);
      calms.push({ healedAt, leaderAfterMs: acted && first ? first.t0 - healedAt : null });
      for (const giveBack of keyRulesTaken.splice(0)) giveBack();
      await Promise.all(lasting);
      if (calms.length % 10 === 0 || !acted) {
        log(
          `[${options.world}] ${faults.length} faults, ${calms.length} calms; last leader back after ${
            first ? `${(first.t0 - healedAt).toFixed(0)} ms` : 'NONE'
          }`,
        );
      }
    }
  } catch (cause) {
    error = (cause as Error).stack ?? String(cause);
    log(`[${options.world}] ERROR: ${error}`);
  }

  log(`[${options.world}] stopping every candidate`);
  for (const candidate of candidates) {
    candidate.tcp.heal();
    candidate.http.clearFaults();
  }
  const outcomes = await Promise.all(candidates.map((c) => c.stop(15_000)));
  candidates.forEach((c, i) => (stopOutcomes[c.instanceId] = outcomes[i]));
  const endedAt = monotonicMs();
  // A SIGKILLed process's service stays until Consul reaps it (deregisterCriticalServiceAfter 1m,
  // then the reaper's pass): wait for that, no longer.
  let leftovers: string[] = [];
  const reapBy = monotonicMs() + 150_000;
  for (;;) {
    try {
      leftovers = await world.leftovers(serviceName);
    } catch (cause) {
      leftovers = [`(could not list: ${(cause as Error).message})`];
    }
    if (leftovers.length === 0 || monotonicMs() > reapBy) break;
    await sleep(1_000);
  }
  log(
    `[${options.world}] leftovers after ${((monotonicMs() - endedAt) / 1_000).toFixed(0)} s: ${leftovers.length}`,
  );
  reader.poll();
  // The load promise of SAFETY.md ("Load"), the simulator's figure from each process's own options,
  // per process and per loop the request tells apart (load.ts).
  const load = chaosLoad(
    candidates.map((c) => ({ key, starts: c.starts, seen: c.http.seen })),
    perfOffset,
  );
  log(`[${options.world}] load: ${loadSummary(load)}`);
  for (const candidate of candidates) await candidate.close();
  await world.stop();

  const acts = reader.records.filter((r): r is ActRecord => r.k === 'act');
  const intervals = actingIntervals(acts);
  const history: History = {
    intervals,
    requests: load.requests,
    loopRequests: load.loopRequests,
    wipes,
    // A term first acts at most its wait (D, or a lock-delay) plus a SIGSTOP after its acquire.
    tokenIssuedWithinMs: Math.max(D, LOCK_DELAY) * 1.02 + REQUEST_TIMEOUT + MAX_PAUSE + 1_000,
    liveness: null,
    handoffs: [],
    maxRequestsPerSecond: (process) => load.perProcess.get(process) ?? 0,
    maxRequestsPerSecondPerLoop: (process) => load.perLoop.get(process) ?? 0,
    leftovers,
  };
  const violations: Array<Violation | CronViolation> = [
    ...check(history),
    ...calms.flatMap((calm) =>
      checkLiveness({
        ...history,
        liveness: {
          owedFrom: calm.healedAt,
          withinMs: bound,
          until: calm.healedAt + bound + 5_000,
        },
      }),
    ),
  ];
  const cron = checkCronLedger({
    records: reader.records,
    jobs: CHAOS_JOBS,
    wipes,
    wallOffsetMs: Date.now() - monotonicMs(),
  });
  violations.push(...cron.violations);
  if (error) violations.push({ rule: 'liveness', message: `the run stopped early: ${error}` });
  for (const [instance, outcome] of Object.entries(stopOutcomes)) {
    if (outcome === 'killed') {
      violations.push({
        rule: 'cleanliness',
        message: `${instance}: stop() did not return within 15 s (SIGKILLed)`,
      });
    }
  }
  return {
    world: options.world,
    startedAt,
    endedAt,
    faults,
    calms,
    livenessBoundMs: bound,
    intervals,
    instances: candidates.map((c) => c.instanceId),
    wipes,
    leftovers,
    stopOutcomes,
    imprecise: reader.records.filter((r) => r.k === 'imprecise').length,
    tornLines: reader.torn,
    violations,
    cron: cron.jobs,
    error,
  };
}
