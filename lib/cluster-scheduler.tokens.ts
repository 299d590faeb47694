import type { InjectionToken } from '@nestjs/common';
import { ClusterScheduler } from './cluster-scheduler.service';
import { normalizeElectionName } from './consul-leader.tokens';

/**
 * The injection token of an election's {@link ClusterScheduler}: the class itself for the default
 * election, the string `ClusterScheduler:<name>` for a named one (as `getConsulLeaderToken`).
 */
export function getClusterSchedulerToken(name?: string): InjectionToken {
  const electionName = normalizeElectionName(name);
  return electionName === null ? ClusterScheduler : `ClusterScheduler:${electionName}`;
}
