// One simulated run: the real LeaderElection in 2–7 candidate processes on the Consul model, a
// schedule of faults and actions drawn from the seed, then a calm phase in which a leader is owed,
// then everyone stops. The checker judges the history. The same seed always gives the same run.
// The module object itself (not an import namespace, whose bindings are read-only): the library's
// `randomBytes` is looked up on it at each call, so a run can seed it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import crypto = require('node:crypto');
import { FAST_TIMINGS } from '../support/election-kit';
import {
  ConsulRequestError,
  LeaderElection,
  type ElectionOptions,
  type NodeConsulPort,
} from '../../lib/election';
import { resolveElectionOptions } from '../../lib/election/options/resolve-election-options';
import { ConsulModel, type AclScope, type ModelAnswer } from '../support/consul-model';
import { modelPort } from '../support/model-consul-client';
import { Prng } from '../support/prng';
import {
  check,
  type ActingInterval,
  type ClockStop,
  type Failover,
  type LeaderWork,
  type SinkWrite,
  type Violation,
} from './checker';
import { Scheduler } from './scheduler';
import { SUCCESSION_LIST_LENGTH, successionRank } from '../../lib/election/protocol/succession';
import { SimProcess } from './sim-process';
import { drawLeaseChains, type LeaseChainDetail } from './lease-chain';
import type { AnswerFaults, IndexFault } from './answer-faults';
import { requestsPerSecondPerLoopInTrueTime, requestsPerSecondPerProcess } from './load-bound';
import { CronJobs, drawCronJobs } from './cron-jobs';
import { checkCron } from './cron-checker';

export const SIM_KEY = 'service/sim/leader';

export interface Fault {
  readonly at: number;
  readonly kind: string;
  readonly target?: string;
  readonly durationMs?: number;
  readonly detail?: Record<string, unknown>;
}

export interface SimResult {
  readonly seed: number;
  readonly violations: Violation[];
  readonly options: Partial<ElectionOptions>;
  readonly candidates: number;
  readonly schedule: readonly Fault[];
  readonly trace: readonly string[];
  readonly events: number;
  readonly simulatedMs: number;
}

type ResolvedOptions = ReturnType<typeof resolveElectionOptions>;
type Run = { token: number; from: number; to: number };

/**
 * A candidate: one instance id, run by one process at a time (a restart is a new process). A rolling
 * deploy retires it and puts a new candidate under its name: the retired one's process may still
 * run beside the new one (maxSurge), under the same instance id or another.
 */
interface Candidate {
  /** Its entry in the run (fault targets name it): the instance id, suffixed once retired. */
  name: string;
  readonly instanceId: string;
  incarnation: number;
  process: SimProcess | null;
  election: LeaderElection | null;
  state: 'running' | 'stopping' | 'stopped' | 'crashed';
  run: Run | null;
  /** Its own options: a fleet may be mixed, and a rolling deploy brings others. */
  readonly options: Partial<ElectionOptions>;
  readonly resolved: ResolvedOptions;
  /** Keys of further elections its process runs on the same Consul client (one port). */
  readonly otherKeys: readonly string[];
  others: Array<{ key: string; election: LeaderElection; run: Run | null }>;
  /** Replaced by a rolling deploy: never started again. */
  retired: boolean;
  /** Since when its start waits for the key to exist (see `mayStart`). */
  startWaitSince: number | null;
  startPending: boolean;
  /** The leader work of the current term, if one began (see observeLeaderWork). */
  work: { readonly signal: AbortSignal; readonly record: WorkRecord } | null;
}

/**
 * The clocks' rates: within the 1% (`CLOCK_RATE_MARGIN`) by which SAFETY.md assumes one machine's
 * clock may run faster than another's — the fastest at most 1.01 × the slowest.
 */
const SLOWEST_RATE = 0.995;
const FASTEST_RATE = SLOWEST_RATE * 1.01;

const SUCCESSION_SLOTS = 8;
/** A fault target resolved when the fault happens: the candidate whose session holds the key. */
const HOLDER = 'holder';
/** A fault target resolved when the fault happens: a running candidate that does not hold the key. */
const FOLLOWER = 'follower';

/** Option mixes within the validated ranges, defaults included. */
export function drawOptions(random: Prng): Partial<ElectionOptions> {
  const profile = random.weighted<'defaults' | 'fast' | 'random'>([
    [2, 'defaults'],
    [3, 'fast'],
    [5, 'random'],
  ]);
  if (profile === 'defaults') return {};
  if (profile === 'fast') {
    // The real-Consul specs' timings, with the default watchWait half of the time.
    return { ...FAST_TIMINGS, watchWait: random.pick(['5s', '60s']) };
  }
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const lease = random.int(200, 5_000);
    const checkTtl = random.int(1_000, 5_000);
    const initialDelay = random.int(50, 500);
    const options: Partial<ElectionOptions> = {
      leaseDuration: lease,
      lockDelay: random.int(lease, Math.min(60_000, lease * 3)),
      requestTimeout: random.int(50, Math.max(50, Math.floor(lease / 5))),
      sessionTtl: random.int(1_000, 30_000),
      sessionTtlMin: 1_000,
      healthCheck: random.chance(0.2)
        ? false
        : { ttl: checkTtl, standbyTtl: random.int(checkTtl, 30_000) },
      successionStep: random.int(10, 500),
      watchWait: random.int(1_000, 60_000),
      resignPause: random.int(0, 5_000),
      retry: { initialDelay, maxDelay: random.int(initialDelay, 10_000) },
      ...(random.chance(0.3) ? { renewInterval: random.int(50, Math.floor(lease / 2)) } : {}),
    };
    try {
      resolveElectionOptions({ key: SIM_KEY, ...options });
      return options;
    } catch {
      // Outside a cross-field rule: draw again.
    }
  }
  return {};
}

/** Requests per second one election's process may send in any one-second window (the load rule). */
type FaultKind =
  | 'partition'
  | 'pause'
  | 'crash'
  | 'lose-requests'
  | 'lose-answers'
  | 'slow-answers'
  | 'errors'
  | 'acl-revoke'
  | 'delete-key'
  | 'put-key'
  | 'destroy-session'
  | 'fail-check'
  | 'agent-restart'
  | 'neighbour-writes'
  | 'stop'
  | 'start'
  | 'resign'
  | 'pause-in-flight'
  | 'cut-delete-leave'
  | 'slow-holder-delete'
  | 'stale-vacancy'
  | 'rolling-deploy'
  | 'deploy-cut-delete'
  | 'lease-chain'
  | AnswerFaultKind
  | ClockFaultKind;

function drawSchedule(
  random: Prng,
  ids: readonly string[],
  faultPhaseMs: number,
  leaseMs: number,
  requestTimeoutMs: number,
): Fault[] {
  const count = random.int(3, 24);
  const faults: Fault[] = [];
  for (let i = 0; i < count; i += 1) {
    // Faults cluster: the interleavings that break elections are several things at once, within a lease.
    const near = faults.length > 0 && random.chance(0.5) ? random.pick(faults).at : null;
    const at =
      near === null
        ? random.between(500, faultPhaseMs)
        : Math.min(faultPhaseMs, Math.max(500, near + random.between(-1.5, 1.5) * leaseMs));
    // Half the targeted faults hit whoever holds the key when they happen.
    const target = random.chance(0.5) ? HOLDER : random.pick(ids);
    const room = faultPhaseMs - at;
    const span = (min: number, max: number): number => Math.min(room, random.between(min, max));
    const kind = random.weighted<FaultKind>([
      [6, 'partition'],
      [5, 'pause'],
      [4, 'crash'],
      [3, 'lose-requests'],
      [3, 'lose-answers'],
      [3, 'slow-answers'],
      [3, 'errors'],
      [1, 'acl-revoke'],
      [3, 'delete-key'],
      [2, 'put-key'],
      [3, 'destroy-session'],
      [2, 'fail-check'],
      [2, 'agent-restart'],
      [2, 'neighbour-writes'],
      [3, 'stop'],
      [4, 'start'],
      [5, 'resign'],
      [4, 'pause-in-flight'],
      [3, 'cut-delete-leave'],
      [3, 'slow-holder-delete'],
    ]);
    switch (kind) {
      case 'partition':
        faults.push({ at, kind, target, durationMs: span(100, 4 * leaseMs + 2_000) });
        break;
      case 'pause':
        faults.push({ at, kind, target, durationMs: span(leaseMs, 3 * leaseMs + 1_000) });
        break;
      case 'crash':
        faults.push({ at, kind, target, durationMs: span(200, 10_000) });
        break;
      case 'lose-requests':
      case 'lose-answers':
        faults.push({
          at,
          kind,
          target,
          durationMs: span(200, 5_000),
          detail: { p: random.between(0.1, 0.9) },
        });
        break;
      case 'slow-answers':
        faults.push({
          at,
          kind,
          target,
          durationMs: span(200, 5_000),
          detail: {
            p: random.between(0.2, 1),
            minMs: requestTimeoutMs * 0.5,
            maxMs: requestTimeoutMs * 2.5,
          },
        });
        break;
      case 'errors':
        faults.push({
          at,
          kind,
          target: random.chance(0.3) ? '*' : target,
          durationMs: span(100, 4_000),
          detail: { status: random.pick([500, 429, 503, 403]) },
        });
        break;
      case 'acl-revoke':
        faults.push({ at, kind, target, durationMs: span(200, 4_000) });
        break;
      case 'agent-restart':
        faults.push({
          at,
          kind,
          durationMs: span(100, 3_000),
          detail: { wipe: random.chance(0.6) },
        });
        break;
      case 'neighbour-writes':
        faults.push({
          at,
          kind,
          durationMs: span(500, 10_000),
          detail: { everyMs: random.between(20, 400) },
        });
        break;
      case 'put-key':
        faults.push({
          at,
          kind,
          detail: { value: random.chance(0.5) ? 'operator' : 'leader-like' },
        });
        break;
      case 'resign':
        faults.push({
          at,
          kind,
          target,
          detail: { pauseMs: random.chance(0.5) ? undefined : random.int(0, 2_000) },
        });
        break;
      case 'pause-in-flight':
        faults.push({
          at,
          kind,
          target,
          durationMs: span(leaseMs * 0.5, 3 * leaseMs + 1_000),
          detail: { after: random.pick(['Transaction.create', 'any']) },
        });
        break;
      case 'cut-delete-leave':
        // The holder is cut off inside its lease, the key is deleted, and whoever took it next
        // resigns or stops soon after: the interleaving of the early "released" marker.
        faults.push({
          at,
          kind,
          target: HOLDER,
          durationMs: span(2 * leaseMs, 4 * leaseMs + 1_000),
          detail: {
            deleteAfterMs: random.between(0, leaseMs / 2),
            leaveAfterMs: random.between(0, 1.5 * leaseMs),
            leave: random.pick(['resign', 'stop']),
          },
        });
        break;
      case 'slow-holder-delete':
        // The holder's answers come late (its confirmations among them) and the key is deleted
        // meanwhile: a lease counted from an answer instead of its request outlives the hold.
        faults.push({
          at,
          kind,
          target: HOLDER,
          durationMs: span(leaseMs, 3 * leaseMs),
          detail: {
            p: 1,
            minMs: requestTimeoutMs * 0.3,
            maxMs: requestTimeoutMs * 0.95,
            deleteAfterMs: random.between(0, leaseMs),
          },
        });
        break;
      default:
        faults.push({ at, kind, target });
    }
  }
  return faults.sort((a, b) => a.at - b.at);
}

/**
 * The create-and-delete race of an absent key, drawn from a stream of its own (adding it left every
 * other draw as it was). A follower is paused right after it read the key absent (an operator
 * deleted it); while it is, another candidate takes the key, waits out its lease and acts, is cut
 * off, and the key is deleted again; the follower resumes inside the cut-off leader's lease with
 * its campaign timer due, and acquires on what it saw before the pause. Only the acquire's answer
 * is known to follow the second deletion (`check-not-exists` cannot see a key created and deleted
 * in between): a wait counted from the first sighting lets it act beside the cut-off leader.
 */
function drawStaleVacancies(random: Prng, faultPhaseMs: number, leaseMs: number): Fault[] {
  const count = random.weighted([
    [6, 0],
    [3, 1],
    [1, 2],
  ]);
  return Array.from({ length: count }, () => {
    const at = random.between(500, faultPhaseMs);
    return {
      at,
      kind: 'stale-vacancy',
      target: FOLLOWER,
      durationMs: Math.min(faultPhaseMs - at, random.between(3 * leaseMs, 6 * leaseMs + 3_000)),
      detail: {
        cutAfterMs: random.between(0, leaseMs / 2),
        deleteAfterMs: random.between(0, leaseMs / 3),
        resumeAfterMs: random.between(0, leaseMs / 3),
      },
    };
  });
}

/**
 * An operator's edit of one candidate's ACL policy (issue 18), drawn from a stream of its own: the
 * key rule, the session rule or every rule taken away, from any candidate (the holder half the
 * time), for less or more than `retry.maxDelay`. A key rule taken from the holder leaves the others
 * able to lead, so half of those last through the calm (`lasting`): a leader is owed while it lasts.
 */
function drawRevocations(
  random: Prng,
  ids: readonly string[],
  faultPhaseMs: number,
  maxDelayMs: number,
): Fault[] {
  const count = random.weighted([
    [5, 0],
    [4, 1],
    [1, 2],
  ]);
  return Array.from({ length: count }, () => {
    const at = random.between(500, faultPhaseMs);
    const scope = random.pick<AclScope>(['key', 'session', 'all']);
    const target = random.chance(0.5) ? HOLDER : random.pick(ids);
    const durationMs = random.chance(0.5)
      ? random.between(200, maxDelayMs)
      : random.between(maxDelayMs, 3 * maxDelayMs + 5_000);
    const lasting = scope === 'key' && random.chance(0.5);
    return {
      at,
      kind: 'acl-revoke',
      target,
      durationMs: Math.min(faultPhaseMs - at, durationMs),
      detail: { scope, ...(lasting ? { lasting } : {}) },
    };
  });
}

type AnswerFaultKind = 'answer-index' | 'fail-blocking' | 'alternate-errors' | 'endpoint-burst';

/**
 * Faults in what the answers say (answer-faults.ts), drawn from a stream of their own (adding them
 * left every other draw as it was): an `X-Consul-Index` of 0, missing, backwards or far ahead; the
 * blocking reads alone refused; every other request refused; a status burst on one endpoint.
 */
function drawAnswerFaults(random: Prng, ids: readonly string[], faultPhaseMs: number): Fault[] {
  const count = random.weighted([
    [4, 0],
    [4, 1],
    [2, 2],
  ]);
  return Array.from({ length: count }, () => {
    const at = random.between(500, faultPhaseMs);
    const kind = random.pick<AnswerFaultKind>([
      'answer-index',
      'fail-blocking',
      'alternate-errors',
      'endpoint-burst',
    ]);
    const status = random.pick([429, 500, 503]);
    const detail =
      kind === 'answer-index'
        ? { index: random.pick<IndexFault>(['zero', 'missing', 'backwards', 'far-ahead']) }
        : kind === 'endpoint-burst'
          ? {
              status,
              endpoint: random.pick([
                'kv.get',
                'Transaction.create',
                'session.renew',
                'agent.check.pass',
                'health.service',
              ]),
            }
          : { status };
    return {
      at,
      kind,
      target: random.chance(0.3) ? '*' : random.chance(0.5) ? HOLDER : random.pick(ids),
      durationMs: Math.min(faultPhaseMs - at, random.between(200, 8_000)),
      detail,
    };
  });
}

/**
 * A watch told an index far ahead of the store holds its next long poll for the whole wait (and
 * Consul's jitter, up to wait/16): nothing in the answer can tell it the index is wrong. After such
 * a fault a leader is owed that much later (SAFETY.md, "Load": a limitation, not a promise).
 */
function blindWatchMs(schedule: readonly Fault[], watchWaitMs: number): number {
  const farAhead = schedule.some(
    (fault) => fault.kind === 'answer-index' && fault.detail?.index === 'far-ahead',
  );
  return farAhead ? watchWaitMs * (17 / 16) : 0;
}

/**
 * The shared port as one election calls it, telling `onTimeout` when a request of that election
 * timed out: the transport sees the requests of every election on the client and cannot tell whose
 * a request is.
 */
function reportingTimeouts(port: NodeConsulPort, onTimeout: () => void): NodeConsulPort {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise)
          result.catch((error: unknown) => {
            if (error instanceof ConsulRequestError && error.kind === 'timeout') onTimeout();
          });
        return result;
      };
    },
  });
}

/** Sets an answer fault on `processes`; returns what heals it. */
function applyAnswerFault(fault: Fault, processes: readonly SimProcess[]): () => void {
  const set = (faults: AnswerFaults): void => {
    const detail = fault.detail!;
    if (fault.kind === 'answer-index') faults.index = detail.index as IndexFault;
    if (fault.kind === 'fail-blocking') faults.failBlocking = detail.status as number;
    if (fault.kind === 'alternate-errors') faults.alternate = detail.status as number;
    if (fault.kind === 'endpoint-burst')
      faults.burst = { endpoint: detail.endpoint as string, status: detail.status as number };
  };
  for (const process of processes) set(process.answerFaults);
  return () => processes.forEach((process) => process.answerFaults.clear());
}

/** The key of the second election some processes run on the same Consul client. */
export const SIM_OTHER_KEY = 'service/sim/other-leader';

/** What a rolling deploy does (a fault's `detail`). */
interface RollingDeploy {
  /** The new option set every replaced candidate gets. */
  readonly options: Partial<ElectionOptions>;
  /** Candidate names in the order they are replaced (a deploy may halt before the last). */
  readonly order: readonly string[];
  /** A StatefulSet: the new process has the old one's instance id; otherwise a new one. */
  readonly sameId: boolean;
  /** maxSurge: the old process runs this long beside the new one; null: it goes first. */
  readonly overlapMs: number | null;
  /** How the old process ends: a graceful `stop()` (SIGTERM) or killed. */
  readonly oldExit: 'stop' | 'crash';
  readonly gapMs: number;
}

/** The fleet's shape, each part drawn from a stream of its own and left out by its own name. */
interface Fleet {
  /** Each candidate's options; a uniform fleet gives all the same. */
  readonly options: ReadonlyMap<string, Partial<ElectionOptions>>;
  /** Candidates beyond the schedule's (a large fleet): started with the others. */
  readonly extraIds: readonly string[];
  /** Candidates whose process also runs the election of {@link SIM_OTHER_KEY} on the same client. */
  readonly multiElection: ReadonlySet<string>;
  /** Rolling deploys and their composite faults. */
  readonly faults: readonly Fault[];
}

/**
 * The fleet: half the seeds draw options per candidate, 2% have 20–50 candidates, in 15% about half
 * the processes run a second election on their Consul client, and rolling deploys. Each part has a
 * stream of its own; `leaveOut: ['fleet']` (a regression seed found before) gives the uniform fleet
 * of 2–7 candidates and no deploy, with every other draw as it was.
 */
function drawFleet(
  random: Prng,
  base: Partial<ElectionOptions>,
  ids: readonly string[],
  faultPhaseMs: number,
  leaveOut: readonly string[],
): Fleet {
  if (leaveOut.includes('fleet'))
    return {
      options: new Map(ids.map((id) => [id, base])),
      extraIds: [],
      multiElection: new Set(),
      faults: [],
    };
  const optionsRandom = random.fork();
  const scaleRandom = random.fork();
  const multiRandom = random.fork();
  const deployRandom = random.fork();
  const extraIds = scaleRandom.chance(0.02)
    ? Array.from(
        { length: scaleRandom.int(20, 50) - ids.length },
        (_, i) => `c${ids.length + i + 1}`,
      )
    : [];
  const all = [...ids, ...extraIds];
  const mixed = optionsRandom.chance(0.5);
  const drawn = new Map(
    all.map((id) => [id, mixed && optionsRandom.chance(0.5) ? drawOptions(optionsRandom) : base]),
  );
  // The same premise as a deploy's (drawDeployOptions): a fleet with an instance without a health
  // check keeps one leaseDuration; an option set that does not admit it falls back to the base.
  const unchecked = [...drawn.values()].some((o) => o.healthCheck === false);
  const baseLease = resolveElectionOptions({ key: SIM_KEY, ...base }).leaseDurationMs;
  const options = new Map(
    [...drawn].map(([id, o]) => {
      if (!unchecked || o === base) return [id, o];
      const same = { ...o, leaseDuration: baseLease, lockDelay: baseLease };
      try {
        resolveElectionOptions({ key: SIM_KEY, ...same });
        return [id, same];
      } catch {
        return [id, base];
      }
    }),
  );
  const multiElection = new Set(
    multiRandom.chance(0.15) ? all.filter(() => multiRandom.chance(0.5)) : [],
  );
  const faults = drawRollingDeploys(deployRandom, base, ids, faultPhaseMs);
  return { options, extraIds, multiElection, faults };
}

/**
 * A new option set for a rolling deploy: another `leaseDuration` (shorter 70% of the time),
 * `lockDelay` and health-check TTLs, the rest as before (timeouts back to their defaults when the
 * shorter lease no longer admits them).
 */
function drawDeployOptions(random: Prng, base: Partial<ElectionOptions>): Partial<ElectionOptions> {
  const was = resolveElectionOptions({ key: SIM_KEY, ...base });
  const { requestTimeout: _timeout, renewInterval: _renew, ...timeoutsDefault } = base;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const lease =
      random.chance(0.7) && was.leaseDurationMs > 200
        ? random.int(200, was.leaseDurationMs - 1)
        : random.int(was.leaseDurationMs, Math.min(30_000, 2 * was.leaseDurationMs));
    const checkTtl = random.int(1_000, 5_000);
    const healthCheck = random.chance(0.15)
      ? was.healthCheck
        ? false
        : { ttl: checkTtl, standbyTtl: random.int(checkTtl, 30_000) }
      : was.healthCheck && random.chance(0.6)
        ? { ttl: checkTtl, standbyTtl: random.int(checkTtl, 30_000) }
        : base.healthCheck;
    // Premise (SAFETY.md rule 2, its limit): without a health check on either side, the holder of
    // an absent key has no catalog to learn a longer lease from, and the operator keeps
    // leaseDuration unchanged. The draw is made all the same, so the other draws stay as they were.
    const checked =
      (healthCheck === undefined ? base.healthCheck !== false : !!healthCheck) && !!was.healthCheck;
    const leaseMs = checked ? lease : was.leaseDurationMs;
    const changes: Partial<ElectionOptions> = {
      leaseDuration: leaseMs,
      lockDelay: random.chance(0.5) ? leaseMs : random.int(leaseMs, Math.min(60_000, 3 * leaseMs)),
      ...(healthCheck === undefined ? {} : { healthCheck }),
    };
    for (const options of [
      { ...base, ...changes },
      { ...timeoutsDefault, ...changes },
    ]) {
      try {
        resolveElectionOptions({ key: SIM_KEY, ...options });
        return options;
      } catch {
        // Outside a cross-field rule: try the next.
      }
    }
  }
  return drawOptions(random);
}

/**
 * Rolling deploys (none in half the seeds): the candidates restarted one by one with a new option
 * set, each under its own instance id or a new one, the old process stopped first or running on
 * beside the new one for a while. Most deploys come with composite faults timed into them
 * (`deploy-cut-delete`): whoever holds the key then is cut off right after a hold confirmation, the
 * key is deleted, and often deleted again soon after another candidate took it — the interleavings
 * in which a successor must still wait out the old, longer lease.
 */
function drawRollingDeploys(
  random: Prng,
  base: Partial<ElectionOptions>,
  ids: readonly string[],
  faultPhaseMs: number,
): Fault[] {
  const count = random.weighted([
    [5, 0],
    [4, 1],
    [1, 2],
  ]);
  const leaseMs = resolveElectionOptions({ key: SIM_KEY, ...base }).leaseDurationMs;
  const faults: Fault[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = random.between(500, Math.max(500, faultPhaseMs * 0.7));
    const options = drawDeployOptions(random, base);
    const newLeaseMs = resolveElectionOptions({ key: SIM_KEY, ...options }).leaseDurationMs;
    const remaining = [...ids];
    const order: string[] = [];
    while (remaining.length > 0)
      order.push(...remaining.splice(random.int(0, remaining.length - 1), 1));
    const deploy: RollingDeploy = {
      options,
      order: random.chance(0.2) ? order.slice(0, random.int(1, order.length)) : order,
      sameId: random.chance(0.5),
      overlapMs: random.chance(0.6) ? random.between(0, 3 * leaseMs + 1_000) : null,
      oldExit: random.chance(0.75) ? 'stop' : 'crash',
      gapMs: random.between(50, 2 * leaseMs + 500),
    };
    faults.push({ at, kind: 'rolling-deploy', detail: { ...deploy } });
    const spanMs = deploy.order.length * (deploy.gapMs + (deploy.overlapMs ?? 200));
    const composites = random.weighted([
      [3, 0],
      [5, 1],
      [2, 2],
    ]);
    for (let c = 0; c < composites; c += 1) {
      const cutAt = Math.min(faultPhaseMs, at + random.between(0, spanMs));
      faults.push({
        at: cutAt,
        kind: 'deploy-cut-delete',
        target: HOLDER,
        durationMs: Math.min(
          faultPhaseMs - cutAt,
          random.between(2 * leaseMs, 4 * leaseMs + 1_000),
        ),
        detail: {
          deleteAfterMs: random.between(0, newLeaseMs / 2),
          againAfterMs: random.chance(0.7) ? random.between(0, 1.5 * newLeaseMs) : null,
        },
      });
    }
  }
  return faults;
}

type ClockFaultKind = 'wall-step' | 'suspend' | 'vm-pause' | 'edge-rates-delete';

/**
 * A store that fences on the token: it keeps the highest token it accepted a write with and
 * refuses any lower one. Reset when the cluster's history is lost (a wiped agent), as SAFETY.md
 * tells its users to.
 */
function fencedSink(
  now: () => number,
  log: (line: string) => void,
): {
  readonly writes: SinkWrite[];
  write(process: string, fencingToken: number, termBegan: number): void;
  reset(): void;
} {
  let highest = 0;
  const writes: SinkWrite[] = [];
  return {
    writes,
    write(process, fencingToken, termBegan) {
      const accepted = fencingToken >= highest;
      if (accepted) highest = fencingToken;
      else log(`SINK refused ${process}'s write with token ${fencingToken} (highest ${highest})`);
      writes.push({ process, fencingToken, termBegan, at: now(), accepted });
    },
    reset() {
      highest = 0;
    },
  };
}

/** A leader work record while the run goes on (see LeaderWork). */
interface WorkRecord {
  readonly process: string;
  readonly fencingToken: number;
  readonly startedAt: number;
  endedAt: number | null;
  signalAbortedAt: number | null;
  /** The term's deadline on the process's monotonic clock, as the election last published it. */
  deadlineMono: number;
  signalAbortedMono: number | null;
  /** The process did not run throughout (paused, clocks stopped, catching up, stopped). */
  interrupted: boolean;
}

/**
 * The herd bound (checkHerd): at most 3 acquires over all processes within 10 ms (or half a
 * succession step, if shorter: ranks are a whole step apart). By design only candidates the last
 * holder did not name, queued in one hash slot, try at the same moment: of c1–c7, at most two share
 * a slot (c1 and c4, c6 and c7); one more for an unrelated retry. Seeds 1–300: of 2,126 failovers
 * with an acquire, 2,078 saw at most 1 within the window, 48 saw 2, none more; with every follower
 * trying at once after lock-delay (mutants/herd-after-lock-delay.patch) 10 saw 3 and 1 saw 4.
 */
function herdBound(
  successionStepMs: number,
  instanceIds: readonly string[],
): { windowMs: number; maxAttempts: number } {
  // Candidates off the successor list try in one of eight slots by a hash of their id
  // (succession.ts): those that share a slot may try together, and one listed successor with them.
  const perSlot = new Map<number, number>();
  // Per process, not per id: processes of one id (a rolling deploy under the same instance id, the
  // old process beside the new) share its slot.
  for (const id of instanceIds) {
    const slot = successionRank([], id) % SUCCESSION_LIST_LENGTH;
    perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
  }
  return {
    windowMs: Math.min(10, successionStepMs / 2),
    maxAttempts: Math.max(3, 1 + Math.max(0, ...perSlot.values())),
  };
}

/** A timer fires up to 3 ms late (sim-process.ts): the signal fires within that of the deadline. */
const SIGNAL_SLACK_MS = 5;

/**
 * Faults of a process's clocks, drawn from a stream of their own (adding them left every other draw
 * as it was): the wall clock stepped by minutes (NTP, an operator); a suspend (the monotonic clock
 * stands, the wall clock and true time run on); a VM paused by its hypervisor (both clocks stand,
 * true time runs on); and the clocks' rates at the very edges of the 1% margin (the holder slowest,
 * everyone else fastest) with the key deleted a few ms after Consul answered a confirmation of the
 * holder. One at a time, each ending 2 × D + 1 s before the next begins: a wall clock stepped back
 * inside a lease and then a suspend within the same lease would leave the lease no clock that shows
 * the suspend (SAFETY.md lists that combination under its assumptions: the fencing token's case).
 */
function drawClockFaults(
  random: Prng,
  faultPhaseMs: number,
  leaseMs: number,
  takeoverMs: number,
): Fault[] {
  const count = random.weighted([
    [4, 0],
    [4, 1],
    [2, 2],
  ]);
  const faults: Fault[] = [];
  let freeFrom = 500;
  for (const at of Array.from({ length: count }, () => random.between(500, faultPhaseMs)).sort(
    (a, b) => a - b,
  )) {
    const kind = random.weighted<ClockFaultKind>([
      [3, 'wall-step'],
      [3, 'suspend'],
      [2, 'vm-pause'],
      [3, 'edge-rates-delete'],
    ]);
    const target = kind === 'edge-rates-delete' || random.chance(0.7) ? HOLDER : FOLLOWER;
    // Long enough, often, for Consul to free the key and a successor to act meanwhile.
    const durationMs = random.between(leaseMs * 0.5, takeoverMs * 1.5);
    const detail: Record<string, unknown> =
      kind === 'wall-step'
        ? { byMs: (random.chance(0.5) ? 1 : -1) * random.between(60_000, 600_000) }
        : kind === 'edge-rates-delete'
          ? { deleteAfterMs: random.between(0, 5) }
          : // The machine's network comes back a little after its CPU (a live-migrated VM, a
            // laptop's Wi-Fi): until then the process runs on what it knew before the stop.
            { linkBackAfterMs: random.chance(0.7) ? random.between(0, leaseMs) : 0 };
    if (at < freeFrom) continue;
    const fault: Fault =
      kind === 'wall-step'
        ? { at, kind, target, detail }
        : kind === 'edge-rates-delete'
          ? // The holder cut off for a while after the confirmation: it acts on its lease to the end.
            { at, kind, target, durationMs: Math.min(3 * leaseMs, faultPhaseMs - at), detail }
          : { at, kind, target, durationMs: Math.min(durationMs, faultPhaseMs - at), detail };
    faults.push(fault);
    freeFrom = at + (fault.durationMs ?? 0) + 2 * leaseMs + 1_000;
  }
  return faults;
}

export interface SimulateOptions {
  readonly traceAll?: boolean;
  /**
   * Fault kinds drawn from streams of their own (`stale-vacancy`) to leave out: a regression seed
   * found before such a kind existed replays the schedule it was found with.
   */
  readonly leaveOut?: readonly string[];
}

export async function simulate(seed: number, options: SimulateOptions = {}): Promise<SimResult> {
  const random = new Prng(seed);
  const optionsRandom = random.fork();
  const scheduleRandom = random.fork();
  const worldRandom = random.fork();
  const libraryRandom = random.fork();
  // Drawn last, so that adding it left every other stream (options, schedule, world) as it was.
  const calmRandom = random.fork();
  // Drawn after it, for the same reason.
  const staleVacancyRandom = random.fork();
  // Issue 18 added three streams after that one, each on its own branch; they were merged in this
  // order, so the fleet's seeds (its regression seeds are the most) replay as they were found:
  // the fleet's shape (mixed options, scale, several elections, rolling deploys), then the partial
  // revocations, then the answer faults.
  const fleetRandom = random.fork();
  const revocationRandom = random.fork();
  const answerFaultRandom = random.fork();
  // And the clock faults, the edge rates and the leader work after those.
  const clockRandom = random.fork();
  const workRandom = random.fork();
  // Then the lease chains (lease-chain.ts), timed into the rolling deploys drawn before.
  const leaseChainRandom = random.fork();
  // ClusterCron jobs (issue 19) after every other stream: `cron` in leaveOut runs the election alone.
  const cronRandom = random.fork();
  const electionOptions = drawOptions(optionsRandom);
  const resolved = resolveElectionOptions({ key: SIM_KEY, ...electionOptions });
  const ids = Array.from({ length: scheduleRandom.int(2, 7) }, (_, i) => `c${i + 1}`);
  const faultPhaseMs = scheduleRandom.between(5_000, 40_000);
  const schedule = drawSchedule(
    scheduleRandom,
    ids,
    faultPhaseMs,
    resolved.leaseDurationMs,
    resolved.requestTimeoutMs,
  );
  const staleVacancies = drawStaleVacancies(
    staleVacancyRandom,
    faultPhaseMs,
    resolved.leaseDurationMs,
  );
  if (!options.leaveOut?.includes('stale-vacancy')) schedule.push(...staleVacancies);
  const revocations = drawRevocations(
    revocationRandom,
    ids,
    faultPhaseMs,
    resolved.retry.maxDelayMs,
  );
  if (!options.leaveOut?.includes('partial-acl-revoke')) schedule.push(...revocations);
  const answerFaults = drawAnswerFaults(answerFaultRandom, ids, faultPhaseMs);
  // A seed found before stale vacancies existed predates answer faults too.
  if (!options.leaveOut?.some((kind) => kind === 'answer-faults' || kind === 'stale-vacancy'))
    schedule.push(...answerFaults);
  const fleet = drawFleet(fleetRandom, electionOptions, ids, faultPhaseMs, options.leaveOut ?? []);
  schedule.push(...fleet.faults);
  const leaseChains = drawLeaseChains(
    leaseChainRandom,
    fleet.faults,
    faultPhaseMs,
    resolved.leaseDurationMs,
  );
  if (!options.leaveOut?.includes('lease-chain')) schedule.push(...leaseChains);
  const hcOption = resolved.healthCheck;
  const clockFaults = drawClockFaults(
    clockRandom,
    faultPhaseMs,
    resolved.leaseDurationMs,
    (hcOption ? hcOption.ttlMs : 2 * resolved.sessionTtlMs) +
      resolved.lockDelayMs +
      2 * resolved.leaseDurationMs,
  );
  if (!options.leaveOut?.includes('clock')) schedule.push(...clockFaults);
  schedule.sort((a, b) => a.at - b.at);

  const scheduler = new Scheduler();
  const trace: string[] = [];
  const log = (line: string): void =>
    void trace.push(`${(scheduler.now / 1_000).toFixed(4)} ${line}`);
  const model = new ConsulModel(
    {
      now: () => scheduler.now,
      wallNow: () => Date.UTC(2026, 0, 1) + scheduler.now,
      setTimer: (callback, delayMs) => scheduler.after(delayMs, callback),
      clearTimer: (handle) => void ((handle as { cancelled: boolean }).cancelled = true),
    },
    () => worldRandom.next(),
  );

  // The library draws backoff jitter from Math.random and a service-id suffix from randomBytes:
  // both come from the seed during the run, and are put back after it.
  const realRandom = Math.random;
  const realRandomBytes = crypto.randomBytes;
  Math.random = () => libraryRandom.next();
  (crypto as { randomBytes: unknown }).randomBytes = (size: number) =>
    Buffer.from(Array.from({ length: size }, () => Math.floor(libraryRandom.next() * 256)));

  const newCandidate = (
    name: string,
    instanceId: string,
    options: Partial<ElectionOptions>,
    otherKeys: readonly string[],
  ): Candidate => ({
    name,
    instanceId,
    incarnation: 0,
    process: null,
    election: null,
    state: 'stopped',
    run: null,
    options,
    // With the instance id: a default one would draw from the seeded randomBytes.
    resolved: resolveElectionOptions({ key: SIM_KEY, instanceId, ...options }),
    otherKeys,
    others: [],
    retired: false,
    startWaitSince: null,
    startPending: false,
    work: null,
  });
  const candidates = new Map<string, Candidate>(
    [...ids, ...fleet.extraIds].map((instanceId) => [
      instanceId,
      newCandidate(
        instanceId,
        instanceId,
        fleet.options.get(instanceId) ?? electionOptions,
        fleet.multiElection.has(instanceId) ? [SIM_OTHER_KEY] : [],
      ),
    ]),
  );
  /** Set at the end: no process starts any more (a start waiting for the key gives up). */
  let ending = false;
  /** Each process's own load bound (its options, its number of elections). */
  const requestBounds = new Map<string, number>();
  const loopBounds = new Map<string, number>();
  const intervals: ActingInterval[] = [];
  const requests = new Map<string, number[]>();
  /** Every process of the run, restarts included (checker b reads what each published). */
  const processes: SimProcess[] = [];
  const loopRequests = new Map<string, ReadonlyMap<string, readonly number[]>>();
  const sessionOwner = new Map<string, SimProcess>();
  const wipes: number[] = [];
  const handoffs: Array<{
    at: number;
    from: string;
    withinMs: number;
    mayReturnAfterMs?: number;
  }> = [];
  const clockStops: ClockStop[] = [];
  const leaderWork: LeaderWork[] = [];
  const sink = fencedSink(() => scheduler.now, log);
  const cronJobs = options.leaveOut?.includes('cron') ? null : drawCronJobs(cronRandom);
  const cron = cronJobs
    ? new CronJobs(
        cronJobs,
        cronRandom.fork(),
        () => scheduler.now,
        wipes,
        log,
        () => model.lastIndex(),
      )
    : null;
  const failovers: Failover[] = [];
  const stopLeftovers: Array<{ process: string; at: number; leftovers: string[] }> = [];
  /** Per process, the services (with their checks) it registered: what its stop() must remove. */
  const registered = new Map<SimProcess, Array<{ service: string; check: string | null }>>();
  const processName = (candidate: Candidate): string =>
    `${candidate.instanceId}.${candidate.incarnation}`;

  /** The slow-commit condition new processes join (see the calm phase). */
  const currentSlowWrites = (): SimProcess['faults']['slowWrites'] =>
    [...candidates.values()].find((c) => c.process && !c.process.crashed)?.process?.faults
      .slowWrites ?? null;
  const closeRun = (candidate: Candidate): void => {
    for (const other of candidate.others) {
      if (!other.run) continue;
      intervals.push({
        process: processName(candidate),
        fencingToken: other.run.token,
        from: other.run.from,
        to: other.run.to,
        key: other.key,
      });
      other.run = null;
    }
    if (!candidate.run) return;
    intervals.push({
      process: processName(candidate),
      fencingToken: candidate.run.token,
      from: candidate.run.from,
      to: candidate.run.to,
    });
    candidate.run = null;
  };
  /** A candidate's leader-only work runs when isLeader() says so: recorded with its token. */
  const sample = (): void => {
    const now = scheduler.now;
    for (const candidate of candidates.values()) {
      if (candidate.others.length > 0) sampleOthers(candidate, now);
      const process = candidate.process;
      const election = candidate.election;
      observeLeaderWork(candidate);
      // A process that is paused, or still running what came due while it was, runs no user code.
      if (
        !process ||
        !election ||
        process.crashed ||
        process.paused ||
        process.backlog > 0 ||
        candidate.state === 'stopped'
      ) {
        closeRun(candidate);
        process?.notePublished(null);
        continue;
      }
      process.notePublished(election.state);
      if (!election.isLeader()) {
        closeRun(candidate);
        continue;
      }
      const token = election.state.term?.fencingToken ?? -1;
      if (candidate.run && candidate.run.token === token) candidate.run.to = now;
      else {
        closeRun(candidate);
        candidate.run = { token, from: now, to: now };
      }
    }
  };

  /** The elections on other keys of a process that runs several: sampled like the main one. */
  const sampleOthers = (candidate: Candidate, now: number): void => {
    const process = candidate.process;
    const active =
      !!process &&
      !process.crashed &&
      !process.paused &&
      process.backlog === 0 &&
      candidate.state !== 'stopped';
    for (const other of candidate.others) {
      const token =
        active && other.election.isLeader()
          ? (other.election.state.term?.fencingToken ?? -1)
          : null;
      if (other.run && other.run.token === token) {
        other.run.to = now;
        continue;
      }
      if (other.run) {
        intervals.push({
          process: processName(candidate),
          fencingToken: other.run.token,
          from: other.run.from,
          to: other.run.to,
          key: other.key,
        });
      }
      other.run = token === null ? null : { token, from: now, to: now };
    }
  };

  /** The keys each process has held (from Consul's side), for `mayStart`. */
  const everHeld = new Map<SimProcess, Set<string>>();
  const electionKeys = fleet.multiElection.size > 0 ? [SIM_KEY, SIM_OTHER_KEY] : [SIM_KEY];
  /** The Raft index of the last look: an acquire is a write, so nothing changed while it stays. */
  let holdersSeenAt = -1;
  const noteHolders = (): void => {
    if (!model.up || model.lastIndex() === holdersSeenAt) return;
    holdersSeenAt = model.lastIndex();
    for (const key of electionKeys) {
      const session = model.entryOf(key)?.Session;
      const owner = session ? sessionOwner.get(session) : undefined;
      if (!owner) continue;
      const keys = everHeld.get(owner) ?? new Set<string>();
      keys.add(key);
      everHeld.set(owner, keys);
    }
  };
  /**
   * The operator's rule for a shorter `leaseDuration` without health checks (SAFETY.md, rule 2): a process whose lease is
   * shorter than one a running process may still act on starts only while the key exists (so that it
   * reads the longer `leaseMs`), or once the key has been absent for that longer lease. A start
   * that must wait is tried again every 20 ms.
   */
  const mayStart = (candidate: Candidate): boolean => {
    const leaseMs = candidate.resolved.leaseDurationMs;
    // With health checks on both sides the holder of an absent key reads the longer lease from
    // the catalog (candidate-leases.ts): the rule is needed only where one of them has none.
    const longer = [...candidates.values()].filter(
      (c) =>
        c !== candidate &&
        (c.state === 'running' || c.state === 'stopping') &&
        c.resolved.leaseDurationMs > leaseMs &&
        (!c.resolved.healthCheck || !candidate.resolved.healthCheck),
    );
    // Only a key such a process has held: it may act on it, cut off, after the key is gone.
    const keys = [SIM_KEY, ...candidate.otherKeys].filter((key) =>
      longer.some((c) => c.process && everHeld.get(c.process)?.has(key)),
    );
    if (keys.length === 0 || (model.up && keys.every((key) => model.entryOf(key)))) {
      candidate.startWaitSince = null;
      return true;
    }
    const longestMs = Math.max(...longer.map((c) => c.resolved.leaseDurationMs));
    candidate.startWaitSince ??= scheduler.now;
    if (scheduler.now - candidate.startWaitSince >= longestMs * 1.02 + 100) {
      log(`${candidate.name} starts: the key has been absent for the longer lease ${longestMs} ms`);
      candidate.startWaitSince = null;
      return true;
    }
    if (!candidate.startPending) {
      if (candidate.startWaitSince === scheduler.now)
        log(
          `${candidate.name} waits to start until the key exists (a running lease is ${longestMs} ms)`,
        );
      candidate.startPending = true;
      scheduler.after(20, () => {
        candidate.startPending = false;
        start(candidate);
      });
    }
    return false;
  };

  /**
   * Leader work, like a `@LeaderOnly` job: it starts when a term begins, runs with the term's token
   * and `AbortSignal`, and writes to the fenced sink at several moments until it sees the signal
   * aborted (checked before each write, as well-behaved work does). Its start, end and the moment
   * the signal fired are recorded: a stale write is one the work made believing its term still on.
   */
  const observeLeaderWork = (candidate: Candidate): void => {
    const { process, election } = candidate;
    const work = candidate.work;
    const running = !!process && !process.paused && !process.crashed && process.backlog === 0;
    if (work && !work.signal.aborted) {
      // The deadline the signal must fire by holds only while the process runs throughout.
      if (!running || candidate.state === 'stopped') work.record.interrupted = true;
      else if (election?.state.term?.signal === work.signal) {
        const deadline = election.state.stepDownDeadline;
        if (deadline !== null) work.record.deadlineMono = deadline;
      }
    }
    const term = election?.state.term;
    if (!running || !process || !term || work?.signal === term.signal) return;
    const record: WorkRecord = {
      process: processName(candidate),
      fencingToken: term.fencingToken,
      startedAt: scheduler.now,
      endedAt: null,
      signalAbortedAt: null,
      deadlineMono: election.state.stepDownDeadline ?? Number.POSITIVE_INFINITY,
      signalAbortedMono: null,
      interrupted: false,
    };
    leaderWork.push(record);
    candidate.work = { signal: term.signal, record };
    term.signal.addEventListener(
      'abort',
      () => {
        record.signalAbortedAt = scheduler.now;
        record.signalAbortedMono = process.now();
      },
      { once: true },
    );
    const step = (): void => {
      if (term.signal.aborted) {
        record.endedAt = scheduler.now;
        return;
      }
      sink.write(record.process, record.fencingToken, record.startedAt);
      process.setWorkTimer(
        step,
        workRandom.between(resolved.leaseDurationMs / 10, resolved.leaseDurationMs / 2),
      );
    };
    step();
  };

  const start = (candidate: Candidate): void => {
    if (candidate.state === 'running' || candidate.state === 'stopping') return;
    if (candidate.retired || ending || !mayStart(candidate)) return;
    closeRun(candidate);
    candidate.incarnation += 1;
    const name = processName(candidate);
    const process = new SimProcess(
      name,
      scheduler,
      model,
      worldRandom.fork(),
      worldRandom.between(SLOWEST_RATE, FASTEST_RATE),
      (line) => log(line),
    );
    requests.set(name, process.requests);
    processes.push(process);
    loopRequests.set(name, process.loopRequests);
    // Each process is held to the load promise of its own options (SAFETY.md, "Load"), per election
    // it runs: a second election on the same client has loops of its own.
    requestBounds.set(
      name,
      requestsPerSecondPerProcess({ key: SIM_KEY, ...candidate.options }) *
        (1 + candidate.otherKeys.length),
    );
    // A loop is told apart by its kind of request only: a second election's loop of the same kind
    // counts under the same name.
    loopBounds.set(
      name,
      requestsPerSecondPerLoopInTrueTime({ key: SIM_KEY, ...candidate.options }) *
        (1 + candidate.otherKeys.length),
    );
    process.faults.slowWrites = currentSlowWrites();
    const logger = (prefix: string) => {
      const lines = (level: string) => (message: string) => log(`${prefix} ${level} ${message}`);
      return {
        log: lines('log'),
        warn: lines('warn'),
        error: lines('error'),
        debug: lines('debug'),
      };
    };
    // Several elections of one process share its Consul client (one port, one connection).
    const consulPort = observePort(
      modelPort(model, trackSessions(process), candidate.instanceId),
      process,
    );
    const election = new LeaderElection({
      key: SIM_KEY,
      instanceId: candidate.instanceId,
      ...candidate.options,
      consulPort: reportingTimeouts(consulPort, () => process.noteRequestTimedOut()),
      clock: process,
      logger: logger(name),
    });
    candidate.others = candidate.otherKeys.map((key) => ({
      key,
      run: null,
      election: new LeaderElection({
        key,
        instanceId: candidate.instanceId,
        ...candidate.options,
        consulPort,
        clock: process,
        logger: logger(`${name}[${key}]`),
      }),
    }));
    // The jobs' own Consul client on the process's network path, with the same ACL token.
    const startJobs = cron?.attach(
      process,
      election,
      modelPort(model, process.applicationTransport, candidate.instanceId),
      SIM_KEY,
      candidate.resolved.requestTimeoutMs,
      logger(`${name}[cron]`),
    );
    candidate.process = process;
    candidate.election = election;
    candidate.state = 'running';
    log(`${name} start`);
    if (candidate.options !== electionOptions || candidate.others.length > 0)
      log(
        `${name} options ${JSON.stringify(candidate.options)}${candidate.others.length ? `; also elects on ${candidate.otherKeys.join(', ')}` : ''}`,
      );
    const others = candidate.others;
    process.deliver(() => {
      void election.start();
      for (const other of others) void other.election.start();
      startJobs?.();
    });
  };
  const trackSessions = (process: SimProcess) => ({
    send: async (request: Parameters<SimProcess['transport']['send']>[0]) =>
      learnSessions(
        request.name,
        process.transport.send({
          ...request,
          handle: async () => {
            const answer = await request.handle();
            if (request.name === 'session.create' && answer.status === 200)
              sessionOwner.set((answer.body as { ID: string }).ID, process);
            // A hold confirmation (the only read-only transaction) Consul answered yes.
            if (request.name === 'Transaction.create' && !request.write && answer.status === 200)
              afterConfirmation.get(process)?.();
            return answer;
          },
        }),
      ),
  });
  /**
   * Sessions whose id reached the process that opened them. A create whose answer was lost or came
   * after requestTimeout leaves a session the process cannot name: Consul's TTL reaps it.
   */
  const learnedSessions = new Set<string>();
  const learnSessions = async (
    name: string,
    answer: Promise<ModelAnswer>,
  ): Promise<ModelAnswer> => {
    const settled = await answer;
    if (name === 'session.create' && settled.status === 200)
      learnedSessions.add((settled.body as { ID: string }).ID);
    return settled;
  };
  /** Per process, what happens once Consul has confirmed its hold (edge-rates-delete). */
  const afterConfirmation = new Map<SimProcess, () => void>();
  /**
   * The port as the library calls it, observed: each acquire counted for the failover it was sent
   * in (the herd check), each service and check it registers remembered (what its stop() removes).
   */
  const observePort = (port: NodeConsulPort, process: SimProcess): NodeConsulPort => {
    const acquire = port.acquire.bind(port);
    port.acquire = async (request, timeoutMs) => {
      // A process's second election (another key) shares the port: its acquires are no failover's.
      if (request.key !== SIM_KEY) return acquire(request, timeoutMs);
      const open = failovers.at(-1);
      const attempt = { process: process.name, at: scheduler.now, outcome: 'unanswered' };
      if (open && open.to === null) open.attempts.push(attempt);
      const result = await acquire(request, timeoutMs);
      attempt.outcome = result.acquired ? 'won' : result.reason;
      return result;
    };
    const registerService = port.registerService.bind(port);
    port.registerService = (service, timeoutMs) => {
      const mine = registered.get(process) ?? [];
      registered.set(process, mine);
      if (!mine.some((known) => known.service === service.id))
        mine.push({ service: service.id, check: service.check?.id ?? null });
      return registerService(service, timeoutMs);
    };
    return port;
  };
  /** The key free (no session on it) from `from` until someone's acquire takes it. */
  const trackFailovers = (): void => {
    if (!model.up) return;
    const held = !!model.entryOf(SIM_KEY)?.Session;
    const open = failovers.at(-1);
    if (!held && (!open || open.to !== null))
      failovers.push({ from: scheduler.now, to: null, attempts: [] });
    if (held && open && open.to === null) open.to = scheduler.now;
  };
  /**
   * What a process stopped gracefully left in Consul the moment its stop() returned, before Consul
   * could reap it (a TTL, a critical check): its sessions, services and their checks.
   */
  const leftAtStop = (process: SimProcess): string[] => {
    const sessions = model
      .sessionIds()
      .filter((id) => sessionOwner.get(id) === process && learnedSessions.has(id));
    const services = new Set(model.serviceIds());
    const checks = new Set(model.checkIds());
    return [
      ...sessions.map((id) => `session ${id}`),
      ...(registered.get(process) ?? []).flatMap(({ service, check }) => [
        ...(services.has(service) ? [`service ${service}`] : []),
        ...(check && checks.has(check) ? [`check ${check}`] : []),
      ]),
    ];
  };
  const stop = (candidate: Candidate): void => {
    const { election, process } = candidate;
    if (candidate.state !== 'running' || !election || !process) return;
    candidate.state = 'stopping';
    // After the calm no fault is on: Consul answers every request, so stop() can remove all it made.
    const cleanOnReturn = healedAt !== null && !inCalm;
    log(`${processName(candidate)} stop()`);
    const others = candidate.others;
    const stopElections = (): Promise<unknown> =>
      others.length === 0
        ? election.stop()
        : Promise.all([election.stop(), ...others.map((o) => o.election.stop())]);
    process.deliver(() => {
      // The jobs stop beside the election (their runs drain on their own; the election's handoff
      // bounds are not theirs to stretch).
      void cron?.stopRunners(process);
      void stopElections().then(() => {
        if (candidate.election === election) candidate.state = 'stopped';
        log(`${processName(candidate)} stopped`);
        const left = cleanOnReturn && model.up ? leftAtStop(process) : [];
        if (left.length > 0)
          stopLeftovers.push({
            process: processName(candidate),
            at: scheduler.now,
            leftovers: left,
          });
      });
    });
  };
  const crash = (candidate: Candidate): void => {
    if (candidate.state !== 'running' && candidate.state !== 'stopping') return;
    log(`${processName(candidate)} CRASH`);
    candidate.process?.crash();
    closeRun(candidate);
    candidate.state = 'crashed';
  };

  const healers: Array<() => void> = [];
  /** Key rules taken away until the calm ends (drawRevocations): healed after its liveness check. */
  const lastingRevocations = new Map<string, AclScope>();
  /** A revocation healed: the token gets its rights back, but for a lasting one. */
  const restoreRights = (token: string): void => {
    model.deny(token, []);
    const lasting = lastingRevocations.get(token);
    if (lasting) model.revoke(token, lasting);
  };
  const later = (at: number, run: () => void): void => void scheduler.at(at, run);
  const holderOf = (): string => {
    const holder = model.entryOf(SIM_KEY)?.Session;
    const owner = holder ? sessionOwner.get(holder) : undefined;
    const candidate = owner && [...candidates.values()].find((c) => c.process === owner);
    return candidate ? candidate.name : worldRandom.pick(ids);
  };
  const followerOf = (): string | undefined => {
    const holder = model.entryOf(SIM_KEY)?.Session;
    const followers = [...candidates.values()].filter(
      (c) =>
        c.state === 'running' &&
        c.process &&
        !c.process.paused &&
        !c.process.crashed &&
        !(holder && sessionOwner.get(holder) === c.process),
    );
    return followers.length ? worldRandom.pick(followers).name : undefined;
  };
  /** Entries replaced so far (a retired entry's name and a new instance id are numbered by it). */
  let replaced = 0;
  /**
   * One step of a rolling deploy: the candidate's process is replaced by one with the deploy's
   * options, under the same instance id (a StatefulSet) or a new one, started after the old one
   * stopped (or was killed after a grace period) or while it still runs (maxSurge), in which case
   * the old one ends `overlapMs` later (or at the heal). `done` once the step is over.
   */
  const replace = (old: Candidate, deploy: RollingDeploy, done: () => void): void => {
    replaced += 1;
    const name = old.name;
    candidates.delete(name);
    old.name = `${name}~${replaced}`;
    old.retired = true;
    candidates.set(old.name, old);
    const next = newCandidate(
      name,
      deploy.sameId ? old.instanceId : `${old.instanceId}-r${replaced}`,
      deploy.options,
      old.otherKeys,
    );
    // The same instance id again: its process names go on counting (a process name is unique).
    if (deploy.sameId) next.incarnation = old.incarnation;
    candidates.set(name, next);
    log(
      `DEPLOY ${processName(old)} (${old.state}) replaced by ${next.instanceId} ${deploy.overlapMs === null ? 'after it' : `beside it for ${deploy.overlapMs.toFixed(0)}ms`}`,
    );
    const exit = (): void => {
      if (deploy.oldExit === 'crash') crash(old);
      else stop(old);
    };
    if (deploy.overlapMs !== null) {
      start(next);
      let exited = false;
      const once = (): void => {
        if (exited) return;
        exited = true;
        exit();
      };
      healers.push(once);
      scheduler.after(deploy.overlapMs, () => {
        once();
        done();
      });
      return;
    }
    exit();
    const since = scheduler.now;
    const whenGone = (): void => {
      if (old.state === 'stopping' && healedAt === null) {
        // The kubelet kills what has not stopped within its grace period.
        if (scheduler.now - since < 10_000) return void scheduler.after(20, whenGone);
        crash(old);
      }
      start(next);
      done();
    };
    whenGone();
  };
  const rollingDeploy = (deploy: RollingDeploy): void => {
    const order = [...deploy.order];
    const step = (): void => {
      // Faults end at the heal: a deploy under way halts there.
      if (healedAt !== null) return;
      const name = order.shift();
      if (name === undefined) return;
      const old = candidates.get(name);
      if (!old) return step();
      replace(old, deploy, () => void scheduler.after(deploy.gapMs, step));
    };
    step();
  };
  /**
   * The holder is cut off right after its next hold confirmation (it acts for a whole lease it
   * cannot confirm), the key is deleted, and often deleted again soon after another candidate
   * took it: that one's successors must still wait out the cut-off holder's lease, which may be
   * longer than theirs during a rolling deploy.
   */
  const deployCutDelete = (process: SimProcess, fault: Fault, end: number): void => {
    const detail = fault.detail as { deleteAfterMs: number; againAfterMs: number | null };
    let healed = false;
    const heal = (): void => {
      if (healed) return;
      healed = true;
      process.cancelCutAfterAnswer();
      process.reconnect();
    };
    healers.push(heal);
    later(end, heal);
    process.cutAfterNextReadAnswer('Transaction.create', () => {
      scheduler.after(detail.deleteAfterMs, () => {
        if (healedAt !== null || !model.up) return;
        log('FAULT (deploy-cut-delete) delete-key');
        model.kvDelete(SIM_KEY);
        const againAfterMs = detail.againAfterMs;
        if (againAfterMs === null) return;
        const whenTaken = (): void => {
          if (healedAt !== null || scheduler.now >= end) return;
          const session = model.entryOf(SIM_KEY)?.Session;
          const owner = session ? sessionOwner.get(session) : undefined;
          if (!owner || owner === process) return void scheduler.after(5, whenTaken, true);
          scheduler.after(againAfterMs, () => {
            if (healedAt !== null || !model.up) return;
            log('FAULT (deploy-cut-delete) delete-key again');
            model.kvDelete(SIM_KEY);
          });
        };
        whenTaken();
      });
    });
  };
  /** The composite `lease-chain` (lease-chain.ts): the interleaving of issue 18's defect 1. */
  const leaseChain = (fault: Fault, end: number): void => {
    const detail = fault.detail as unknown as LeaseChainDetail;
    const lookUntil = Math.min(fault.at + detail.lookMs, end);
    const running = (): Candidate[] =>
      [...candidates.values()].filter(
        (c) => c.state === 'running' && c.process && !c.process.crashed && !c.process.paused,
      );
    const holderCandidate = (): Candidate | undefined => {
      const session = model.up ? model.entryOf(SIM_KEY)?.Session : undefined;
      const owner = session ? sessionOwner.get(session) : undefined;
      return owner ? running().find((c) => c.process === owner) : undefined;
    };
    const cutProcesses: SimProcess[] = [];
    const heal = (): void => {
      for (const cut of cutProcesses.splice(0)) {
        cut.cancelCutAfterAnswer();
        cut.reconnect();
      }
    };
    healers.push(heal);
    later(end, heal);
    // Whoever holds the key now, with a lease longer than some running follower's.
    const look = (): void => {
      if (healedAt !== null || scheduler.now > lookUntil) return;
      const old = holderCandidate();
      const longMs = old?.resolved.leaseDurationMs ?? 0;
      if (!old || !running().some((c) => c !== old && c.resolved.leaseDurationMs < longMs))
        return void scheduler.after(50, look, true);
      const oldProcess = old.process!;
      log(`FAULT (lease-chain) ${processName(old)} (lease ${longMs} ms) is cut off next`);
      cutProcesses.push(oldProcess);
      oldProcess.cutAfterNextReadAnswer('Transaction.create', () => {
        scheduler.after(detail.deleteAfterMs, () => {
          if (healedAt !== null || !model.up) return;
          log('FAULT (lease-chain) delete-key');
          model.kvDelete(SIM_KEY);
          whenTaken(oldProcess, longMs);
        });
      });
    };
    // A follower of a shorter lease takes the absent key and waits out the old one meanwhile.
    const whenTaken = (oldProcess: SimProcess, longMs: number): void => {
      if (healedAt !== null || scheduler.now >= end) return;
      const waiting = holderCandidate();
      if (!waiting || waiting.process === oldProcess || waiting.resolved.leaseDurationMs >= longMs)
        return void scheduler.after(5, () => whenTaken(oldProcess, longMs), true);
      const session = model.entryOf(SIM_KEY)!.Session!;
      // A follower of a shorter lease restarted now knows of the old lease only what the waiting
      // holder wrote into the key.
      const fresh = running().filter(
        (c) => c !== waiting && c.process !== oldProcess && c.resolved.leaseDurationMs < longMs,
      );
      // The first of them in line (succession.ts): informed followers ahead of it would take the
      // key first and wait out the old lease, as they must.
      const value = model.entryOf(SIM_KEY)?.Value;
      let named: { successors?: string[]; instanceId?: string } | null = null;
      try {
        named = value ? JSON.parse(Buffer.from(value, 'base64').toString()) : null;
      } catch {
        named = null;
      }
      const rankOf = (c: Candidate): number =>
        successionRank(named?.successors, c.instanceId, named?.instanceId);
      const first = Math.min(...fresh.map(rankOf));
      const inLine = fresh.filter((c) => rankOf(c) === first);
      const restarted = inLine[Math.floor(detail.restartPick * inLine.length)];
      if (restarted) {
        log(
          `FAULT (lease-chain) ${processName(restarted)} restarts while ${processName(waiting)} waits`,
        );
        crash(restarted);
        start(restarted);
      }
      scheduler.after(detail.cutAfterMs, () => {
        if (healedAt !== null || !model.up || waiting.process?.crashed) return;
        if (model.entryOf(SIM_KEY)?.Session !== session) return;
        log(`FAULT (lease-chain) ${processName(waiting)} cut off`);
        cutProcesses.push(waiting.process!);
        waiting.process!.cut();
        if (detail.destroy) {
          log('FAULT (lease-chain) destroy-session of the waiting holder');
          model.sessionDestroy(session);
        } else {
          log('FAULT (lease-chain) delete-key again');
          model.kvDelete(SIM_KEY);
        }
      });
    };
    look();
  };
  const applyFault = (planned: Fault): void => {
    const fault =
      planned.target === HOLDER
        ? { ...planned, target: holderOf() }
        : planned.target === FOLLOWER
          ? { ...planned, target: followerOf() }
          : planned;
    const candidate = fault.target ? candidates.get(fault.target) : undefined;
    const process = candidate?.process;
    const live = candidate?.state === 'running' && process && !process.crashed;
    const end = fault.at + (fault.durationMs ?? 0);
    log(
      `FAULT ${fault.kind}${fault.target ? ` ${fault.target}` : ''}${fault.durationMs ? ` for ${fault.durationMs.toFixed(0)}ms` : ''}${fault.detail ? ` ${JSON.stringify(fault.detail)}` : ''}`,
    );
    const timed = (set: () => void, heal: () => void): void => {
      set();
      let healed = false;
      const once = (): void => {
        if (healed) return;
        healed = true;
        heal();
      };
      healers.push(once);
      later(end, once);
    };
    switch (fault.kind) {
      case 'partition':
        if (process)
          timed(
            () => process.cut(),
            () => process.reconnect(),
          );
        break;
      case 'pause':
        if (process && live) {
          closeRun(candidate);
          timed(
            () => process.pause(),
            () => process.resume(),
          );
        }
        break;
      case 'crash':
        if (candidate && live) {
          crash(candidate);
          later(end, () => start(candidate));
        }
        break;
      case 'lose-requests':
        if (process)
          timed(
            () => (process.faults.loseRequests = fault.detail!.p as number),
            () => (process.faults.loseRequests = 0),
          );
        break;
      case 'lose-answers':
        if (process)
          timed(
            () => (process.faults.loseAnswers = fault.detail!.p as number),
            () => (process.faults.loseAnswers = 0),
          );
        break;
      case 'slow-answers':
        if (process)
          timed(
            () => (process.faults.slowAnswers = fault.detail as never),
            () => (process.faults.slowAnswers = null),
          );
        break;
      case 'errors': {
        const targets =
          fault.target === '*' ? [...candidates.values()] : candidate ? [candidate] : [];
        const processes = targets.flatMap((c) => (c.process ? [c.process] : []));
        timed(
          () => processes.forEach((p) => (p.faults.errorStatus = fault.detail!.status as number)),
          () => processes.forEach((p) => (p.faults.errorStatus = null)),
        );
        break;
      }
      case 'answer-index':
      case 'fail-blocking':
      case 'alternate-errors':
      case 'endpoint-burst': {
        const targets =
          fault.target === '*' ? [...candidates.values()] : candidate ? [candidate] : [];
        const heal = applyAnswerFault(
          fault,
          targets.flatMap((c) => (c.process ? [c.process] : [])),
        );
        timed(() => undefined, heal);
        break;
      }
      case 'acl-revoke': {
        if (fault.target === HOLDER) break;
        const token = fault.target!;
        const scope = (fault.detail?.scope as AclScope | undefined) ?? 'all';
        // Lasting only while another candidate keeps its key rights: a leader must stay possible.
        if (
          fault.detail?.lasting &&
          ids.some((id) => id !== token && !lastingRevocations.has(id))
        ) {
          lastingRevocations.set(token, scope);
          model.revoke(token, scope);
          break;
        }
        timed(
          () => model.revoke(token, scope),
          () => restoreRights(token),
        );
        break;
      }
      case 'delete-key':
        if (model.up) model.kvDelete(SIM_KEY);
        break;
      case 'put-key':
        if (model.up)
          model.kvPut(
            SIM_KEY,
            fault.detail!.value === 'operator'
              ? 'operator'
              : JSON.stringify({
                  instanceId: 'operator',
                  metadata: {},
                  since: '2026-01-01T00:00:00.000Z',
                }),
          );
        break;
      case 'destroy-session': {
        if (!model.up) break;
        const holder = model.entryOf(SIM_KEY)?.Session;
        const sessions = model.sessionIds();
        const victim =
          holder && worldRandom.chance(0.7)
            ? holder
            : sessions.length
              ? worldRandom.pick(sessions)
              : null;
        if (victim) model.sessionDestroy(victim);
        break;
      }
      case 'fail-check': {
        const checks = model.checkIds();
        if (model.up && checks.length) model.failCheck(worldRandom.pick(checks));
        break;
      }
      case 'agent-restart': {
        const wipe = fault.detail!.wipe as boolean;
        timed(
          () => model.crash(),
          () => {
            model.restart(wipe);
            if (wipe) wipes.push(scheduler.now);
            // A store fenced on the token is reset with the cluster (SAFETY.md, the fencing token).
            if (wipe) sink.reset();
            log(`agent back (${wipe ? 'wiped' : 'state kept'})`);
          },
        );
        break;
      }
      case 'neighbour-writes': {
        let on = true;
        const write = (): void => {
          if (!on) return;
          if (model.up) model.kvPut(`${SIM_KEY}-heartbeat`, String(scheduler.now));
          scheduler.after(fault.detail!.everyMs as number, write);
        };
        timed(write, () => (on = false));
        break;
      }
      case 'pause-in-flight':
        if (process && live) {
          const after = fault.detail?.after as string;
          timed(
            () => process.pauseAfterNextSend(fault.durationMs ?? 0, after === 'any' ? null : after),
            () => process.cancelPauseAfterSend(),
          );
        }
        break;
      case 'cut-delete-leave': {
        if (!process) break;
        const detail = fault.detail as {
          deleteAfterMs: number;
          leaveAfterMs: number;
          leave: string;
        };
        timed(
          () => process.cut(),
          () => process.reconnect(),
        );
        scheduler.after(detail.deleteAfterMs, () => {
          // Faults end at the heal: their delayed parts too.
          if (!model.up || healedAt !== null) return;
          log('FAULT (cut-delete-leave) delete-key');
          model.kvDelete(SIM_KEY);
          scheduler.after(detail.leaveAfterMs, () => {
            if (healedAt !== null) return;
            const next = candidates.get(holderOf());
            if (!next || next === candidate || next.state !== 'running' || !next.election) return;
            log(`FAULT (cut-delete-leave) ${next.instanceId} ${detail.leave}()`);
            if (detail.leave === 'stop') stop(next);
            else {
              const election = next.election;
              next.process?.deliver(() => void election.resign());
            }
          });
        });
        break;
      }
      case 'slow-holder-delete': {
        if (!process) break;
        const detail = fault.detail as {
          p: number;
          minMs: number;
          maxMs: number;
          deleteAfterMs: number;
        };
        timed(
          () => (process.faults.slowAnswers = detail),
          () => (process.faults.slowAnswers = null),
        );
        scheduler.after(detail.deleteAfterMs, () => {
          // Faults end at the heal: their delayed parts too.
          if (!model.up || healedAt !== null) return;
          log('FAULT (slow-holder-delete) delete-key');
          model.kvDelete(SIM_KEY);
        });
        break;
      }
      case 'stale-vacancy': {
        if (!process || !live) break;
        const follower = candidate;
        const detail = fault.detail as {
          cutAfterMs: number;
          deleteAfterMs: number;
          resumeAfterMs: number;
        };
        timed(
          () => {
            process.pauseAfterNextAnswer('kv.get', 404);
            if (model.up) model.kvDelete(SIM_KEY);
          },
          () => {
            process.cancelPauseAfterAnswer();
            process.resume();
          },
        );
        // Once the follower is paused and another candidate acts: cut that one off, delete the
        // key, resume the follower. Faults end at the heal: their delayed parts too.
        const leaderNow = (): Candidate | undefined =>
          [...candidates.values()].find(
            (c) =>
              c !== follower &&
              c.state === 'running' &&
              !!c.process &&
              !c.process.paused &&
              !c.process.crashed &&
              !!c.election?.isLeader(),
          );
        const watchForLeader = (): void => {
          if (healedAt !== null || scheduler.now >= end || process.crashed) return;
          const leader = process.paused ? leaderNow() : undefined;
          if (!leader?.process) return void scheduler.after(10, watchForLeader, true);
          const leaderProcess = leader.process;
          scheduler.after(detail.cutAfterMs, () => {
            if (healedAt !== null || !process.paused) return;
            log(`FAULT (stale-vacancy) ${leader.instanceId} cut off`);
            let reconnected = false;
            const reconnect = (): void => {
              if (reconnected) return;
              reconnected = true;
              leaderProcess.reconnect();
            };
            leaderProcess.cut();
            healers.push(reconnect);
            later(end, reconnect);
            scheduler.after(detail.deleteAfterMs, () => {
              if (healedAt !== null || !model.up) return;
              log('FAULT (stale-vacancy) delete-key');
              model.kvDelete(SIM_KEY);
              scheduler.after(detail.resumeAfterMs, () => {
                if (healedAt !== null) return;
                log(`FAULT (stale-vacancy) ${follower.instanceId} resumes`);
                process.resume();
              });
            });
          });
        };
        scheduler.after(10, watchForLeader, true);
        break;
      }
      case 'rolling-deploy':
        rollingDeploy(fault.detail as unknown as RollingDeploy);
        break;
      case 'deploy-cut-delete':
        if (process && live) deployCutDelete(process, fault, end);
        break;
      case 'lease-chain':
        leaseChain(fault, end);
        break;
      case 'wall-step':
      case 'suspend':
      case 'vm-pause':
      case 'edge-rates-delete':
        if (candidate && process && live) applyClockFault(fault, candidate, process, timed);
        break;
      case 'stop':
        if (candidate) stop(candidate);
        break;
      case 'start':
        if (candidate && (candidate.state === 'stopped' || candidate.state === 'crashed'))
          start(candidate);
        break;
      case 'resign':
        if (candidate && live && candidate.election) {
          const election = candidate.election;
          const pauseMs = fault.detail?.pauseMs as number | undefined;
          process.deliver(
            () => void election.resign(pauseMs === undefined ? {} : { pause: pauseMs }),
          );
        }
        break;
    }
  };

  /** The clock faults (drawClockFaults), on a process that runs. */
  const applyClockFault = (
    fault: Fault,
    candidate: Candidate,
    process: SimProcess,
    timed: (set: () => void, heal: () => void) => void,
  ): void => {
    switch (fault.kind) {
      case 'wall-step':
        process.stepWallClock(fault.detail!.byMs as number);
        break;
      case 'suspend':
      case 'vm-pause': {
        const stop: ClockStop = {
          process: processName(candidate),
          kind: fault.kind,
          from: scheduler.now,
          to: Number.POSITIVE_INFINITY,
        };
        clockStops.push(stop);
        closeRun(candidate);
        const linkBackAfterMs = fault.detail!.linkBackAfterMs as number;
        let linked = false;
        const linkBack = (): void => {
          if (linked) return;
          linked = true;
          process.reconnect();
        };
        timed(
          () => {
            process.stopClocks(fault.kind === 'vm-pause');
            if (linkBackAfterMs > 0) process.cut();
          },
          () => {
            stop.to = scheduler.now;
            process.resumeClocks();
            if (linkBackAfterMs <= 0) return;
            // The heal ends it too, like every fault's delayed parts.
            if (healedAt !== null) return linkBack();
            healers.push(linkBack);
            scheduler.after(linkBackAfterMs, linkBack);
          },
        );
        break;
      }
      case 'edge-rates-delete': {
        // The holder's clock the slowest, everyone else's the fastest the margin allows: its lease
        // lasts longest in true time, their waits are shortest. The key is deleted a few ms after
        // Consul confirmed the hold, so t_inv follows the lease's start by those few ms only; the
        // holder is cut off once the confirmation's answer is back (latency ≤ 1.5 ms), so it learns
        // nothing more and acts to its lease's end: only the margin, and the successor's own
        // delays (its rank, its acquire's answer), keep the successor from acting beside it.
        for (const other of candidates.values())
          other.process?.setRate(other === candidate ? SLOWEST_RATE : FASTEST_RATE);
        let cut = false;
        const afterIt = (): void => {
          afterConfirmation.delete(process);
          scheduler.after(fault.detail!.deleteAfterMs as number, () => {
            if (!model.up || healedAt !== null) return;
            log(
              `FAULT (edge-rates-delete) delete-key after ${processName(candidate)}'s confirmation`,
            );
            model.kvDelete(SIM_KEY);
          });
          scheduler.after(2, () => {
            if (healedAt !== null || process.crashed) return;
            cut = true;
            process.cut();
          });
        };
        timed(
          () => afterConfirmation.set(process, afterIt),
          () => {
            afterConfirmation.delete(process);
            if (cut) process.reconnect();
          },
        );
        break;
      }
    }
  };

  const violations: Violation[] = [];
  let owedFrom: number | null = null;
  /** Between the heal and the end, when a leader is owed. */
  let inCalm = false;
  const heldByDead = (): boolean => {
    const holder = model.entryOf(SIM_KEY)?.Session;
    if (!holder) return false;
    const owner = sessionOwner.get(holder);
    const candidate = owner && [...candidates.values()].find((c) => c.process === owner);
    return !candidate || candidate.state !== 'running';
  };
  const afterEach = (): void => {
    sample();
    cron?.sample();
    noteHolders();
    trackFailovers();
    // In the calm at least one candidate runs: one whose stop() was still under way at the heal is
    // started again once it has stopped (a leader cannot be owed to an empty election).
    // One whose key rule an operator took away for good (a lasting revocation) cannot lead.
    const mayLead = (c: Candidate): boolean => !lastingRevocations.has(c.instanceId);
    if (inCalm && ![...candidates.values()].some((c) => c.state === 'running' && mayLead(c))) {
      const idle = [...candidates.values()].filter(
        (c) => !c.retired && (c.state === 'stopped' || c.state === 'crashed') && mayLead(c),
      );
      if (idle.length > 0) start(worldRandom.pick(idle));
    }
    // A request of a dead process still on its way (held by a partition: the kernel still sends
    // what a killed process left in its socket) may take the key after a leader was owed: it is
    // owed again once Consul frees the key, unless someone acted in between.
    if (
      owedFrom !== null &&
      inCalm &&
      heldByDead() &&
      !intervals.some((interval) => interval.to >= owedFrom!) &&
      ![...candidates.values()].some((c) => c.run && c.run.to >= owedFrom!)
    ) {
      log('the key is held by a dead process again: a leader is owed once Consul frees it');
      owedFrom = null;
    }
    if (owedFrom === null && healedAt !== null && model.up && !heldByDead())
      owedFrom = scheduler.now;
  };
  let healedAt: number | null = null;
  /**
   * The longest of an option among candidates (by default every one the run has had: a successor
   * may owe the lease and lock-delay of any process that held the key, a rolling deploy's retired
   * ones included; steps, backoff and timeouts are those of whichever candidate takes over).
   */
  const longest = (
    of: (options: ResolvedOptions) => number,
    among: Iterable<Candidate> = candidates.values(),
  ): number => Math.max(0, ...[...among].map((c) => of(c.resolved)));
  const runningCandidates = (): Candidate[] =>
    [...candidates.values()].filter((c) => c.state === 'running');
  const livenessBound = (): number =>
    // A candidate waits lock-delay × 1.01 on its own clock (campaign.ts: its clock may run fast).
    longest((o) => o.lockDelayMs) * 1.01 +
    longest((o) => o.leaseDurationMs) * 1.02 +
    (2 * SUCCESSION_SLOTS + candidates.size) * longest((o) => o.successionStepMs) +
    longest((o) => o.retry.maxDelayMs) +
    longest((o) => o.resignPauseMs) +
    4 * longest((o) => o.requestTimeoutMs) +
    1_000 +
    blindWatchMs(
      schedule,
      longest((o) => o.watchWaitMs),
    );
  // Recomputed at the heal, once a rolling deploy has brought whatever options it brings.
  let livenessWithinMs = livenessBound();
  const maxEvents = 3_000_000;

  try {
    for (const [i, candidate] of [...candidates.values()].entries()) {
      scheduler.at(worldRandom.between(0, 300) + i, () => start(candidate));
    }
    for (const fault of schedule) scheduler.at(fault.at, () => applyFault(fault));
    const sampleEvery = (): void =>
      void scheduler.after(worldRandom.between(5, 50), sampleEvery, true);
    sampleEvery();
    await scheduler.runUntil(faultPhaseMs, afterEach, maxEvents);

    // Calm: every fault heals; at least one candidate runs.
    healedAt = scheduler.now;
    inCalm = true;
    livenessWithinMs = livenessBound();
    log('HEAL: every fault ends');
    for (const heal of healers.splice(0)) heal();
    // A pause that began late in the fault phase (a pause right after a send) ends at the heal too:
    // a process still paused then would owe the calm and the probes a leader it cannot be.
    for (const candidate of candidates.values()) {
      const process = candidate.process;
      if (process?.paused && !process.crashed) {
        log(`${processName(candidate)} resumed at the heal`);
        process.resume();
      }
    }
    if (!model.up) model.restart(false);
    // Sometimes the calm is only partial: Raft commits stay slow (KV writes answered after
    // requestTimeout, though applied) while reads are fast; a leader is owed all the same.
    const slowCommits = worldRandom.chance(0.25)
      ? {
          minMs: longest((o) => o.requestTimeoutMs) * 1.05,
          maxMs: longest((o) => o.requestTimeoutMs) * 1.5,
        }
      : null;
    if (slowCommits) log(`CALM with slow commits: ${JSON.stringify(slowCommits)}`);
    // Sometimes another application keeps writing its own keys through the calm (a busy KV
    // store): every write wakes an absent key's read, and a leader is owed all the same.
    const busyStoreEveryMs = calmRandom.chance(0.25) ? calmRandom.between(20, 200) : null;
    if (busyStoreEveryMs !== null) {
      log(`CALM with a busy store: another key written every ${busyStoreEveryMs.toFixed(0)} ms`);
      const write = (): void => {
        if (!inCalm) return;
        if (model.up) model.kvPut('other-app/heartbeat', String(scheduler.now));
        scheduler.after(busyStoreEveryMs, write);
      };
      write();
    }
    const setSlowCommits = (value: typeof slowCommits): void => {
      for (const candidate of candidates.values())
        if (candidate.process) candidate.process.faults.slowWrites = value;
    };
    setSlowCommits(slowCommits);
    const all = [...candidates.values()];
    const idle = all.filter((c) => !c.retired && (c.state === 'stopped' || c.state === 'crashed'));
    if (!all.some((c) => c.state === 'running') && idle.length > 0) start(worldRandom.pick(idle));
    const freedBy =
      healedAt +
      longest((o) => (o.healthCheck ? o.healthCheck.standbyTtlMs + o.healthCheck.ttlMs : 0)) +
      2 * longest((o) => o.sessionTtlMs) +
      livenessWithinMs +
      2_000;
    // Until a leader acted after the moment one was owed (or that is overdue).
    const ledSinceOwed = (): boolean =>
      owedFrom !== null &&
      (scheduler.now > owedFrom + livenessWithinMs ||
        [...candidates.values()].some((c) => c.run && c.run.to >= owedFrom!));
    await scheduler.runUntil(freedBy, afterEach, maxEvents, ledSinceOwed);
    if (owedFrom !== null && !ledSinceOwed())
      await scheduler.runUntil(
        owedFrom + livenessWithinMs + 500,
        afterEach,
        maxEvents,
        ledSinceOwed,
      );
    const calmEnd = scheduler.now;
    inCalm = false;
    setSlowCommits(null);
    // The operator puts the key rules back: the handoffs that follow are owed to every candidate.
    // A candidate refused until now may be in a 403's backoff (maxDelay) that began just before.
    const rulesBackAt = lastingRevocations.size > 0 ? scheduler.now : null;
    for (const token of lastingRevocations.keys()) {
      log(`${token}'s key rule given back`);
      model.deny(token, []);
    }
    lastingRevocations.clear();

    // Graceful handoffs, once every candidate runs and the dead ones have left the succession order:
    // the leader resigns or stops (sometimes right after an operator's plain PUT of its key) and
    // the next one must act within a few requests and succession steps, not lock-delay and D later.
    // A handoff is owed only to another running candidate: one whose stop() was still under way
    // (a stop at the heal) is started again once it has stopped, like the others.
    await scheduler.runUntil(
      scheduler.now + 30_000,
      afterEach,
      maxEvents,
      () => ![...candidates.values()].some((c) => c.state === 'stopping'),
    );
    for (const candidate of candidates.values()) {
      if (candidate.state === 'stopped' || candidate.state === 'crashed') start(candidate);
    }
    // Dead incarnations leave the succession order when their checks turn critical: one passing
    // check per election of a running candidate with health checks.
    const passingChecksOwed = (): number =>
      runningCandidates()
        .filter((c) => c.resolved.healthCheck)
        .reduce((sum, c) => sum + 1 + c.otherKeys.length, 0);
    await scheduler.runUntil(
      scheduler.now +
        longest((o) => (o.healthCheck ? o.healthCheck.standbyTtlMs : 0)) +
        2 * longest((o) => o.sessionTtlMs) +
        5_000,
      afterEach,
      maxEvents,
      () => model.passingCheckIds().length === passingChecksOwed(),
    );
    // And every candidate is past the longest backoff a fault may have left it in (a 403 waits maxDelay).
    await scheduler.runUntil(
      Math.max(
        scheduler.now + 2 * longest((o) => o.successionStepMs) + 500,
        // Or since its key rule came back, for one whose lasting revocation outlived the heal
        // (seed 253: a 403 at 27.5 s, the rule back at 32.9 s, the probe at 34.5 s in its backoff).
        Math.max(healedAt, rulesBackAt ?? healedAt) +
          longest((o) => o.retry.maxDelayMs) +
          4 * longest((o) => o.requestTimeoutMs) +
          1_000,
        // And past a watch's long poll held by an index pushed far ahead (blindWatchMs).
        healedAt +
          blindWatchMs(
            schedule,
            longest((o) => o.watchWaitMs),
          ),
      ),
      afterEach,
      maxEvents,
    );
    // The leader names its successors only when it watches the candidates' health checks; without
    // them every follower queues in one of the succession slots of its id's hash (succession.ts).
    // In a mixed fleet, steps and timeouts are those of the slowest running candidate, and a
    // follower without a check of its own is never named, so queues in its slot.
    const running = runningCandidates();
    const handoffSteps = running.every((c) => c.resolved.healthCheck) ? 2 : SUCCESSION_SLOTS;
    const handoffWithinMs =
      handoffSteps * longest((o) => o.successionStepMs, running) +
      4 * longest((o) => o.requestTimeoutMs, running) +
      300;
    /**
     * The premise that another candidate leads after a resign holds only when the resigner's own
     * turn comes after someone else's. It waits its resign pause, then queues last (succession.ts:
     * the holder that left gets rank list + 8), both counted with its own options; the others
     * queue by their rank times their own step. In a fleet whose succession steps differ, that
     * "last" may come first (seed 9618: c1.2, pause 898 ms and step 11 ms, back after 986 ms; c2-r1
     * and c3, steps of 317 ms in hash slots 6 and 7, due after 1,902 and 2,219 ms). resign() keeps
     * it out for its pause only (README), so its own action from then on counts — only where its
     * turn, with a 1 % clock-rate margin and a timer's lateness, may come before every other's.
     */
    const resignerMayReturn = (
      leader: Candidate,
      held: string | null | undefined,
    ): { mayReturnAfterMs?: number } => {
      let successors: readonly string[] | undefined;
      try {
        const value: unknown = held ? JSON.parse(Buffer.from(held, 'base64').toString()) : null;
        const listed = (value as { successors?: unknown } | null)?.successors;
        successors = Array.isArray(listed) ? (listed as string[]) : undefined;
      } catch {
        successors = undefined;
      }
      const own = leader.resolved;
      const ownTurnMs =
        own.resignPauseMs +
        successionRank(successors, leader.instanceId, leader.instanceId) * own.successionStepMs;
      const othersTurnMs = Math.min(
        ...runningCandidates()
          .filter((c) => c !== leader)
          .map(
            (c) =>
              successionRank(successors, c.instanceId, leader.instanceId) *
              c.resolved.successionStepMs,
          ),
      );
      if (!(ownTurnMs < othersTurnMs * (FASTEST_RATE / SLOWEST_RATE) + 5)) return {};
      log(
        `PROBE ${processName(leader)} may come back first: its turn after ${ownTurnMs} ms, the others' after ${othersTurnMs} ms`,
      );
      // Its pause on the fastest clock, a timer up to 1 ms early.
      return { mayReturnAfterMs: own.resignPauseMs / FASTEST_RATE - 1 };
    };
    for (let probe = 0; probe < 2; probe += 1) {
      const leader = [...candidates.values()].find(
        (c) => c.state === 'running' && c.election?.isLeader(),
      );
      if (!leader?.process || !leader.election) break;
      // The probe's premise: someone else runs to take over.
      if (![...candidates.values()].some((c) => c !== leader && c.state === 'running')) {
        log(`PROBE skipped: no candidate but ${processName(leader)} runs`);
        break;
      }
      const election = leader.election;
      const entry = model.entryOf(SIM_KEY);
      if (worldRandom.chance(0.5) && entry?.Value) {
        log(`PROBE operator plain PUT of ${SIM_KEY}`);
        model.kvPut(SIM_KEY, Buffer.from(entry.Value, 'base64').toString());
        await scheduler.runUntil(scheduler.now + worldRandom.between(0, 30), afterEach, maxEvents);
      }
      const graceful = worldRandom.chance(0.5) ? 'resign' : 'stop';
      const held = model.entryOf(SIM_KEY)?.Value;
      handoffs.push({
        at: scheduler.now,
        from: processName(leader),
        withinMs: handoffWithinMs,
        ...(graceful === 'resign' ? resignerMayReturn(leader, held) : {}),
      });
      log(
        `PROBE ${processName(leader)} ${graceful}() (key value: ${held ? Buffer.from(held, 'base64').toString() : 'none'})`,
      );
      if (graceful === 'stop') stop(leader);
      else leader.process.deliver(() => void election.resign());
      await scheduler.runUntil(scheduler.now + handoffWithinMs + 1_000, afterEach, maxEvents);
      if (leader.state === 'stopped') start(leader);
      await scheduler.runUntil(scheduler.now + 3_000, afterEach, maxEvents);
    }

    // Everyone leaves; whatever crashed processes left behind, Consul reaps in time.
    log('END: every candidate stops');
    ending = true;
    for (const candidate of candidates.values()) {
      if (candidate.process?.paused) candidate.process.resume();
      stop(candidate);
    }
    await scheduler.runUntil(scheduler.now + 30_000, afterEach, maxEvents);
    const reapBy =
      scheduler.now +
      2 * longest((o) => o.sessionTtlMs) +
      longest((o) =>
        o.healthCheck
          ? o.healthCheck.standbyTtlMs + o.healthCheck.deregisterCriticalServiceAfterMs
          : 0,
      ) +
      35_000;
    await scheduler.runUntil(reapBy, afterEach, maxEvents);
    for (const candidate of candidates.values()) closeRun(candidate);
    for (const process of processes) process.closePublished();
    const stuck = [...candidates.values()].filter((c) => c.state === 'stopping');
    violations.push(
      ...stuck.map((c) => ({
        rule: 'cleanliness' as const,
        message: `${processName(c)}: stop() never returned`,
      })),
      ...(cron
        ? (cron.finish(),
          checkCron({ ...cron.ledger, requestTimeoutMs: longest((o) => o.requestTimeoutMs) }))
        : []),
      ...check({
        intervals,
        requests,
        wipes,
        // A term acts at most its wait (D × 1.01, or the longer D of a previous holder, which in a
        // run is the same option) after its acquire was sent, plus the acquire's own time.
        tokenIssuedWithinMs:
          longest((o) => o.leaseDurationMs) * 1.02 + longest((o) => o.requestTimeoutMs),
        liveness: {
          owedFrom: owedFrom ?? calmEnd,
          withinMs: owedFrom === null ? 0 : livenessWithinMs,
          until: calmEnd,
        },
        handoffs,
        maxRequestsPerSecond: (process) => requestBounds.get(process) ?? 0,
        published: {
          runs: processes.flatMap((process) => process.published),
          outages: processes.flatMap((process) =>
            process.outages.map((outage) => ({ process: process.name, ...outage })),
          ),
          // The library's own bound (Consul unanswered for D) on a clock within 0.5% of true
          // time, with timers up to 3 ms late; a failed session opening is reported only after
          // its cleanup request (the service's deregistration), itself up to requestTimeout.
          unknownWithinMs:
            longest((o) => o.leaseDurationMs) * 1.01 + longest((o) => o.requestTimeoutMs) + 10,
          // A connected follower sees a new leader at its next read: after an error burst or an
          // ACL revocation (up to 4 s), a backoff (maxDelay), slow answers, or — while errors
          // last — once it dropped the leader after D.
          // And after an index pushed far ahead, its next read is the long poll that index held
          // for the whole watchWait (SAFETY.md, "Load": a limitation, not a promise; seed 289).
          settleMs:
            4_000 +
            longest((o) => o.retry.maxDelayMs) +
            longest((o) => o.leaseDurationMs) * 1.02 +
            3 * longest((o) => o.requestTimeoutMs) +
            1_000 +
            blindWatchMs(
              schedule,
              longest((o) => o.watchWaitMs),
            ),
        },
        loopRequests,
        maxRequestsPerSecondPerLoop: (process) => loopBounds.get(process) ?? 0,
        clockStops,
        // After a VM pause the lease may run on for what was left of it when the VM stopped: up to
        // D on the process's clock from its last confirmation sent before the pause.
        vmPauseActsWithinMs: longest((o) => o.leaseDurationMs) / SLOWEST_RATE + 1,
        leaderWork: leaderWork.map((record) => ({
          ...record,
          endedAt: record.endedAt ?? (record.signalAbortedAt === null ? scheduler.now : null),
        })),
        signalSlackMs: SIGNAL_SLACK_MS,
        sinkWrites: sink.writes,
        failovers,
        herd: herdBound(
          Math.min(...[...candidates.values()].map((c) => c.resolved.successionStepMs)),
          [...candidates.values()].map((c) => c.instanceId),
        ),
        stopLeftovers,
        leftovers: [
          ...model.sessionIds().map((id) => `session ${id}`),
          ...model.serviceIds().map((id) => `service ${id}`),
          ...model.checkIds().map((id) => `check ${id}`),
        ],
      }),
    );
  } catch (error) {
    violations.push({ rule: 'load', message: String(error) });
  } finally {
    model.dispose();
    Math.random = realRandom;
    (crypto as { randomBytes: unknown }).randomBytes = realRandomBytes;
  }
  void options;
  return {
    seed,
    violations,
    options: electionOptions,
    candidates: ids.length + fleet.extraIds.length,
    schedule,
    trace,
    events: scheduler.events,
    simulatedMs: scheduler.now,
  };
}
