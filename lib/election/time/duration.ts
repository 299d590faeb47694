/**
 * A duration given either as milliseconds (a number) or as a Consul/Go duration string
 * such as `'15s'`, `'500ms'`, `'1m30s'`. Every timing option accepts both.
 */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a {@link Duration} to milliseconds, or returns `undefined` when it is not one.
 * Strings follow Go's `time.ParseDuration` (what Consul itself accepts), without a sign.
 */
export function parseDuration(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (value === '0') return 0;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < value.length) {
    const start = DURATION_PART.lastIndex;
    const match = DURATION_PART.exec(value);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  return total;
}

/**
 * Formats milliseconds as a Consul duration string. Consul reads a bare number below 1000
 * in `LockDelay` as seconds, so durations always travel as strings with a unit.
 */
export function toConsulDuration(ms: number): string {
  return `${Math.round(ms)}ms`;
}

/** Human-readable form used in messages: `2500ms` → `2.5s`. */
export function describeDuration(ms: number): string {
  return ms >= 1_000 ? `${+(ms / 1_000).toFixed(3)}s` : `${+ms.toFixed(3)}ms`;
}
