// Texts of the health indicator, each saying what to do next.
import { describeForRoot } from '../consul-leader.messages';

export const HEALTH_NO_ELECTION = (name: string | undefined): string =>
  `No election to check: import ${describeForRoot(name)} into this app.`;

export const HEALTH_STOPPED = 'The election is stopped (the app is shutting down).';

export const HEALTH_UNREACHABLE = (forMs: number, problem: string): string =>
  `Consul has not answered for ${(forMs / 1_000).toFixed(1)} s, longer than the lease: ${problem}`;

export const HEALTH_STUCK_LEADER = (lateMs: number): string =>
  `The election is stuck: still leader ${(lateMs / 1_000).toFixed(1)} s after its step-down ` +
  'deadline (its timers are not running); restart the process.';

export const HEALTH_MISCONFIGURED = (problem: string): string =>
  `The election cannot work with this configuration, and neither retries nor restarts fix it: ${problem}`;
