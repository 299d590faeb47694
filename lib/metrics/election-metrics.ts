import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import type { Observable } from 'rxjs';
import type { ElectionEvent } from '../election';

/** The instrumentation scope under which the library records its metrics. */
export const METER_NAME = 'nestjs-consul-leader';

/** The instruments' names, as a dashboard or an alert refers to them. */
export const ElectionMetricNames = {
  isLeader: 'leader_election.is_leader',
  transitions: 'leader_election.transitions',
  confirmDuration: 'leader_election.confirm.duration',
  problems: 'leader_election.problems',
} as const;

/** What the metrics read of an election; `LeaderElection` fits. */
export interface MeasuredElection {
  readonly instanceId: string;
  readonly options: { readonly key: string };
  readonly events$: Observable<ElectionEvent>;
  isLeader(): boolean;
}

/**
 * Records one election's metrics on `meter` until the election stops (its event stream completes)
 * or the returned function is called:
 * - `leader_election.is_leader` — gauge, 1 while this instance leads (checked at collection, like
 *   `isLeader()`), else 0; attributes `key`, `instance`;
 * - `leader_election.transitions` — counter, attribute `reason`: `acquired`, `deadline`, `lost`,
 *   `session-lost`, `resign`, `stop`;
 * - `leader_election.confirm.duration` — histogram (ms) of the leader's hold confirmations, attribute
 *   `confirmed` (false: failed or refused);
 * - `leader_election.problems` — counter of failed requests to Consul, attribute `kind`
 *   (`unreachable`, `timeout`, `server-error`, `rate-limited`, `forbidden`, `misconfigured`,
 *   `unexpected`, `no-local-agent`).
 * With the no-op meter of `@opentelemetry/api` (no SDK registered) every call is a no-op.
 */
export function recordElectionMetrics(election: MeasuredElection, meter: Meter): () => void {
  const base: Attributes = { key: election.options.key, instance: election.instanceId };
  const isLeader = meter.createObservableGauge(ElectionMetricNames.isLeader, {
    description: 'Whether this instance leads the election (1) or not (0)',
  });
  const transitions = meter.createCounter(ElectionMetricNames.transitions, {
    description: 'Leadership terms begun (reason "acquired") and ended, by reason',
  });
  const confirmDuration = meter.createHistogram(ElectionMetricNames.confirmDuration, {
    description: "Round trip of the leader's hold confirmations to Consul",
    unit: 'ms',
  });
  const problems = meter.createCounter(ElectionMetricNames.problems, {
    description: 'Failed requests to Consul, by kind',
  });

  let stopped = false;
  const observeRole = (result: ObservableResult): void => {
    result.observe(!stopped && election.isLeader() ? 1 : 0, base);
    // A stopped election reports 0 once — with cumulative export the last value sticks, and a stale
    // 1 would read as a second leader — then leaves the collection (removed after this one, since
    // the SDK is iterating its callbacks right now).
    if (stopped) setImmediate(() => isLeader.removeCallback(observeRole));
  };
  isLeader.addCallback(observeRole);
  const subscription = election.events$.subscribe({
    next: (event) => {
      if (event.type === 'transition') transitions.add(1, { ...base, reason: event.reason });
      else if (event.type === 'confirmation')
        confirmDuration.record(event.durationMs, { ...base, confirmed: event.confirmed });
      else problems.add(1, { ...base, kind: event.kind });
    },
    complete: () => {
      stopped = true;
    },
  });
  const stop = (): void => {
    stopped = true;
    subscription.unsubscribe();
  };
  return stop;
}
