import type { Clock } from '../time/clock';
import type { ConsulPort } from '../consul/consul-port';
import type { ElectionLogger, ResolvedElectionOptions } from '../options/election-options';
import type { ElectionProblems } from '../state/election-problems';
import type { ElectionTimers } from '../time/election-timers';

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
