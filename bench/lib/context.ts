import type { ElectionLogger } from '../../lib/election';
import type { ProcessRegistry } from './processes';

/** What every scenario gets: the mode, the harness agent, and the registry of processes to stop at the end. */
export interface BenchContext {
  readonly quick: boolean;
  readonly agent: {
    readonly host: string;
    readonly port: number;
    readonly address: string;
    readonly binary: string;
  };
  readonly registry: ProcessRegistry;
  /** A fresh key under `bench/`, so that no scenario sees another's lock-delay or candidates. */
  uniqueKey(name: string): string;
  log(message: string): void;
}

/** Elections in the bench print nothing but errors: a log line per transition would be measured too. */
export const silentLogger: ElectionLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: (message) => console.error(`[election] ${message}`),
};
