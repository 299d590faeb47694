// The public API of nestjs-consul-leader: the NestJS integration and the framework-agnostic core.
// Anything not exported here is internal and may change without notice.

// NestJS integration
export { ConsulLeaderModule } from './consul-leader.module';
export { ConsulLeaderService } from './consul-leader.service';
export { getConsulLeaderToken } from './consul-leader.tokens';
export { LeaderOnly } from './decorators/leader-only.decorator';
export { InjectConsulLeader } from './decorators/inject-consul-leader.decorator';
export { LEADER_HEADER, LeaderOnlyGuard, NOT_LEADER_CODE } from './guards/leader-only.guard';
export { NotLeaderError } from './errors/not-leader.error';
export { ClusterCron } from './decorators/cluster-cron.decorator';
export { ClusterScheduler } from './cluster-scheduler.service';
export { getClusterSchedulerToken } from './cluster-scheduler.tokens';
export type { FireContext } from './scheduler/cluster-job';
export type { TriggeredFire } from './scheduler/job-runner';
export type {
  ClusterCronOptions,
  ClusterJobDescription,
  ConsulLeader,
  ConsulLeaderHttpOptions,
  ConsulLeaderModuleExtras,
  ConsulLeaderModuleOptions,
  ConsulLeaderOptionsFactory,
} from './interfaces';

// Testing users' apps: a stand-in for ConsulLeaderService that a test flips between leader and follower
export {
  ConsulLeaderServiceStub,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStubOptions,
  type ClusterCronRun,
} from './testing';

// The election core (usable without Nest)
export {
  ConsulRequestError,
  ElectionOptionsError,
  ElectionStartError,
  LeaderElection,
  LeadershipLostError,
  parseDuration,
  type Clock,
  type ConsulConnectionOptions,
  type Duration,
  type ElectionEvent,
  type ElectionLogger,
  type ElectionOptions,
  type ElectionProblem,
  type ElectionProblemKind,
  type ElectionRole,
  type HealthCheckOptions,
  type LeaderInfo,
  type LeadershipState,
  type LeadershipTerm,
  type ResolvedElectionOptions,
  type RetryOptions,
  type StepDownReason,
  type TransitionReason,
} from './election';
