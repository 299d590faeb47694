import type { ElectionOptions } from '../lib/election';

// Short enough for tests, benchmarks and the demo; Consul accepts them because the harness lowers the
// agents' session_ttl_min (DEFAULT_SESSION_TTL_MIN), which sessionTtlMin tells the election.
/** Timings a test can afford: a crash is noticed in ~1s, a cut-off leader steps down within 600ms. */
export const FAST_TIMINGS = {
  leaseDuration: '600ms',
  lockDelay: '600ms',
  requestTimeout: '200ms',
  sessionTtl: '2s',
  sessionTtlMin: '1s',
  healthCheck: { ttl: '1s', standbyTtl: '2s' },
  successionStep: '100ms',
  watchWait: '5s',
  resignPause: '300ms',
  drainTimeout: '2s',
  retry: { initialDelay: '50ms', maxDelay: '500ms' },
} satisfies Partial<ElectionOptions>;
