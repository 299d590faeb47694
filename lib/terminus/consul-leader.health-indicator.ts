import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { getConsulLeaderToken } from '../consul-leader.tokens';
import type { LeadershipState } from '../election';
import type { ConsulLeader } from '../interfaces/consul-leader.interface';
import { HEALTH_NO_ELECTION, HEALTH_STOPPED, HEALTH_UNREACHABLE } from './terminus.messages';

/** What a health check needs of an election: the service, and its lease when it is the real one. */
type CheckedElection = ConsulLeader & {
  readonly electionOptions?: { readonly leaseDurationMs: number };
};

export interface ConsulLeaderHealthOptions {
  /** The election to check (`ConsulLeaderModule.forRoot({ name })`); default: the unnamed one. */
  name?: string;
}

/**
 * A `@nestjs/terminus` health indicator for an election. Up while the election runs and Consul
 * answers, whatever the role (a follower is healthy: it is ready to take over). Down when the
 * election is stopped, when Consul refuses its token (403), or when Consul has been unreachable for
 * longer than the lease — a blip shorter than the lease is not an outage, the leader rides it out.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.leader.isHealthy()]); }
 * ```
 * Details: `role`, `leader` (its instanceId; null when nobody leads or none is known),
 * `leaderKnown`, `fencingToken`, `consulReachable`, and `message` when there is a problem.
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
    const election = this.election(options.name);
    if (!election) return indicator.down({ message: HEALTH_NO_ELECTION(options.name) });
    const state = election.state;
    const problem = this.problem(state, election.electionOptions?.leaseDurationMs ?? 0);
    if (problem) return indicator.down(describe(state, problem));
    return indicator.up(describe(state, state.problem?.message ?? null));
  }

  /** Why the election is unhealthy now, or null. */
  private problem(state: LeadershipState, leaseDurationMs: number): string | null {
    if (state.role === 'stopped') return HEALTH_STOPPED;
    if (state.problem?.kind === 'forbidden') return state.problem.message;
    if (!state.consulReachable && state.unreachableSince !== null) {
      // Same monotonic base as the election's clock (performance.now()).
      const forMs = performance.now() - state.unreachableSince;
      if (forMs > leaseDurationMs)
        return HEALTH_UNREACHABLE(forMs, state.problem?.message ?? 'no answer');
    }
    return null;
  }

  private election(name: string | undefined): CheckedElection | null {
    try {
      return this.moduleRef.get<CheckedElection>(getConsulLeaderToken(name), { strict: false });
    } catch {
      return null;
    }
  }
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
