export { LeaderElection } from './leader-election';
export { LeadershipLostError, type StepDownReason } from './protocol/holding';
export type { ElectionEvent, TransitionReason } from './state/election-event';
export type {
  ElectionOptions,
  ConsulConnectionOptions,
  HealthCheckOptions,
  RetryOptions,
  ElectionLogger,
  ResolvedElectionOptions,
} from './options/election-options';
export { ElectionOptionsError } from './options/election-options.error';
export { ElectionStartError } from './state/election-start.error';
export type {
  ElectionRole,
  LeaderInfo,
  LeadershipTerm,
  LeadershipState,
  ElectionProblem,
  ElectionProblemKind,
} from './state/leadership-state';
export { initialLeadershipState } from './state/leadership-state';
export type { Duration } from './time/duration';
export { parseDuration } from './time/duration';
export type { Clock, TimerHandle } from './time/clock';
export { systemClock } from './time/clock';
export type {
  ConsulPort,
  KeyEntry,
  KeyRead,
  NewSession,
  AcquireRequest,
  AcquireResult,
  CandidateService,
  TtlCheck,
  Candidate,
  CandidatesRead,
  ReleaseRequest,
  ReadKeyRequest,
} from './consul/consul-port';
export { ConsulRequestError } from './consul/consul-request.error';
export { NodeConsulPort } from './consul/node-consul.port';
