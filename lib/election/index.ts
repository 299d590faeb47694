export { LeaderElection } from './leader-election';
export { LeadershipLostError, type StepDownReason } from './holding';
export type { ElectionEvent, TransitionReason } from './election-event';
export type {
  ElectionOptions,
  ConsulConnectionOptions,
  HealthCheckOptions,
  RetryOptions,
  ElectionLogger,
  ResolvedElectionOptions,
} from './election-options';
export { ElectionOptionsError } from './election-options.error';
export type {
  ElectionRole,
  LeaderInfo,
  LeadershipTerm,
  LeadershipState,
  ElectionProblem,
  ElectionProblemKind,
} from './leadership-state';
export { initialLeadershipState } from './leadership-state';
export type { Duration } from './duration';
export { parseDuration } from './duration';
export type { Clock, TimerHandle } from './clock';
export { systemClock } from './clock';
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
} from './consul-port';
export { ConsulRequestError } from './consul-request.error';
export { NodeConsulPort } from './node-consul.port';
