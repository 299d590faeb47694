import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { getConsulLeaderToken } from '../consul-leader.tokens';
import { getClusterSchedulerToken } from '../cluster-scheduler.tokens';
import type { LeadershipState } from '../election';
import type { ConsulLeader } from '../interfaces/consul-leader.interface';
import {
  HEALTH_MISCONFIGURED,
  HEALTH_NO_ELECTION,
  HEALTH_STOPPED,
  HEALTH_STUCK_LEADER,
  HEALTH_UNREACHABLE,
} from './terminus.messages';

/** What a health check needs of an election: the service, and its lease when it is the real one. */
type CheckedElection = ConsulLeader & {
  readonly electionOptions?: { readonly leaseDurationMs: number };
};

/**
 * Which question the indicator answers:
 * - `'liveness'`: would restarting this process help? Down only when the election is stuck (stopped,
 *   or a leader still claiming the role long after its step-down deadline). An unreachable Consul and
 *   a misconfiguration stay up: every replica shares them, and restarting the fleet fixes neither.
 * - `'readiness'`: may this instance serve traffic? Down on a stuck election and on a
 *   misconfiguration (a refused ACL token, or any `misconfigured` problem), so that a rollout with a
 *   bad configuration stalls instead of replacing the working replicas. Up while Consul is merely
 *   unreachable: a follower serves its routes without Consul, and a leader steps down by itself
 *   after its lease. With `requireConsul: true`, also down once Consul has been unreachable for
 *   longer than the lease (for an app whose every route needs the leader).
 * - `'status'` (the default, for dashboards and deep health pages): down whenever the election cannot
 *   work — readiness with `requireConsul: true`.
 */
export type ConsulLeaderHealthProbe = 'liveness' | 'readiness' | 'status';

export interface ConsulLeaderHealthOptions {
  /** The election to check (`ConsulLeaderModule.forRoot({ name })`); default: the unnamed one. */
  name?: string;
  /** Which probe the indicator answers for (see {@link ConsulLeaderHealthProbe}); default `'status'`. */
  probe?: ConsulLeaderHealthProbe;
  /**
   * Readiness only: also down once Consul has been unreachable for longer than the lease. Default
   * false (true is what `'status'` does).
   */
  requireConsul?: boolean;
}

/**
 * Problem kinds that are configuration, not weather: no retry or restart fixes them. `misconfigured`
 * is matched by name so that any problem of that kind counts, whichever part reports it.
 */
const CONFIGURATION_PROBLEMS: ReadonlySet<string> = new Set(['forbidden', 'misconfigured']);

/**
 * A `@nestjs/terminus` health indicator for an election. Wire `probe: 'liveness'` to the liveness
 * probe and `probe: 'readiness'` to the readiness probe (docs/operations/health.md); without `probe`
 * it answers `'status'`: down when the election is stopped, when Consul refuses its token (403), when
 * the election is misconfigured (the address is not a Consul agent, Consul refuses the session TTL),
 * or when Consul has been unreachable for longer than the lease — a blip shorter than the lease is not
 * an outage, the leader rides it out.
 *
 * ```ts
 * @Get('health/live') @HealthCheck()
 * live() { return this.health.check([() => this.leader.isHealthy('leader', { probe: 'liveness' })]); }
 * @Get('health/ready') @HealthCheck()
 * ready() { return this.health.check([() => this.leader.isHealthy('leader', { probe: 'readiness' })]); }
 * ```
 * Details: `role`, `leader` (its instanceId; null when nobody leads or none is known),
 * `leaderKnown`, `fencingToken`, `consulReachable`, `message` when there is a problem, and `jobs`
 * (the `@ClusterCron` jobs this instance runs now: all of the election's while it leads, else none)
 * when the election has any.
 */
@Injectable()
export class ConsulLeaderHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  isHealthy<const Key extends string = 'leader-election'>(
    key: Key = 'leader-election' as Key,
    options: ConsulLeaderHealthOptions = {},
  ): HealthIndicatorResult<Key> {
    const indicator = this.health.check(key);
    const probe = options.probe ?? 'status';
    const election = this.election(options.name);
    if (!election) return indicator.down({ message: HEALTH_NO_ELECTION(options.name) });
    const state = election.state;
    const leaseMs = election.electionOptions?.leaseDurationMs ?? 0;
    const problem =
      stuck(state, leaseMs) ??
      (probe === 'liveness' ? null : misconfiguration(state)) ??
      (probe === 'status' || (probe === 'readiness' && options.requireConsul)
        ? outage(state, leaseMs)
        : null);
    const jobs = this.ownedJobs(options.name);
    if (problem) return indicator.down({ ...describe(state, problem), ...jobs });
    return indicator.up({ ...describe(state, state.problem?.message ?? null), ...jobs });
  }

  /** `jobs`: the `@ClusterCron` jobs this instance runs now, when the election has any. */
  private ownedJobs(name: string | undefined): { jobs?: string[] } {
    let scheduler: { jobNames: string[]; ownedJobs(): string[] } | undefined;
    try {
      scheduler = this.moduleRef.get(getClusterSchedulerToken(name), { strict: false });
    } catch {
      return {};
    }
    return scheduler && scheduler.jobNames.length > 0 ? { jobs: scheduler.ownedJobs() } : {};
  }

  private election(name: string | undefined): CheckedElection | null {
    try {
      return this.moduleRef.get<CheckedElection>(getConsulLeaderToken(name), { strict: false });
    } catch {
      return null;
    }
  }
}

/**
 * What a restart could fix: the election is not running, or a leader's step-down deadline passed a
 * whole lease ago and it still holds the role — the timers that end its term are not running.
 */
function stuck(state: LeadershipState, leaseMs: number): string | null {
  if (state.role === 'stopped') return HEALTH_STOPPED;
  if (state.role === 'leader' && state.stepDownDeadline !== null) {
    // Same monotonic base as the election's clock (performance.now()).
    const lateMs = performance.now() - state.stepDownDeadline;
    if (lateMs > leaseMs) return HEALTH_STUCK_LEADER(lateMs);
  }
  return null;
}

function misconfiguration(state: LeadershipState): string | null {
  return state.problem && CONFIGURATION_PROBLEMS.has(state.problem.kind)
    ? HEALTH_MISCONFIGURED(state.problem.message)
    : null;
}

/** Consul unreachable for longer than the lease; a shorter blip is ridden out. */
function outage(state: LeadershipState, leaseMs: number): string | null {
  if (state.consulReachable || state.unreachableSince === null) return null;
  const forMs = performance.now() - state.unreachableSince;
  return forMs > leaseMs ? HEALTH_UNREACHABLE(forMs, state.problem?.message ?? 'no answer') : null;
}

function describe(state: LeadershipState, message: string | null): Record<string, unknown> {
  return {
    ...(message === null ? {} : { message }),
    role: state.role,
    instanceId: state.instanceId,
    leader: state.leader?.instanceId ?? null,
    // False: the leader is not known (before the first read, during an outage), not "nobody leads".
    leaderKnown: state.leaderKnown,
    fencingToken: state.leader?.fencingToken ?? null,
    consulReachable: state.consulReachable,
  };
}
