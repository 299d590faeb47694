import type { Clock } from './clock';
import type { ConsulPort } from './consul-port';
import type { ElectionLogger, ResolvedElectionOptions } from './election-options';
import type { ElectionProblems } from './election-problems';
import type { ElectionTimers } from './election-timers';

/** What every part of one election shares: its options, its way out to Consul, its clock and log. */
export interface ElectionContext {
  readonly options: ResolvedElectionOptions;
  readonly instanceId: string;
  readonly port: ConsulPort;
  readonly clock: Clock;
  readonly logger: ElectionLogger;
  readonly problems: ElectionProblems;
  /** The election's timers: each part takes its slots here, and stop disposes them all. */
  readonly timers: ElectionTimers;
}
