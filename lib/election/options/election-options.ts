import type { Clock } from '../time/clock';
import type { ConsulPort } from '../consul/consul-port';
import type { Duration } from '../time/duration';

/** Where Consul is. Unset fields follow Consul's own CLI conventions (`CONSUL_HTTP_ADDR`, …). */
export interface ConsulConnectionOptions {
  /** Default: from `CONSUL_HTTP_ADDR`, else `127.0.0.1`. */
  host?: string;
  /** Default: from `CONSUL_HTTP_ADDR`, else `8500` (`8501` when `secure`). */
  port?: number;
  /** HTTPS. Default: `CONSUL_HTTP_SSL=true` or an `https://` `CONSUL_HTTP_ADDR`. */
  secure?: boolean;
  /** CA certificate(s) for HTTPS. Default: the file named by `CONSUL_CACERT`, if any. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** ACL token; needs `session:write`, `key:write` on the key and `service:write` for the check. Default: `CONSUL_HTTP_TOKEN`. */
  token?: string;
  /** Datacenter. Default: the agent's own. */
  dc?: string;
}

/** A per-instance TTL health check bound to the session: a crashed process loses the key in about `ttl`. */
export interface HealthCheckOptions {
  /** How long the check stays passing without an update. Default `'2s'`, range 1s–10m. Updated every `ttl / 2`. */
  ttl?: Duration;
  /**
   * The check's TTL while this instance only waits (follows). Default `'30s'`, range `ttl`–10m. A longer
   * one makes followers quieter; a dead follower then stays in the succession order this long.
   */
  standbyTtl?: Duration;
  /** Consul removes a service whose check stays critical this long. Default `'1m'` (Consul's minimum), up to 24h. */
  deregisterCriticalServiceAfter?: Duration;
  /** Service name the instance registers under. Default: `leader-` + the key with `/` turned into `-`. */
  serviceName?: string;
}

/** Backoff for retries after Consul errors: exponential with full jitter, capped. */
export interface RetryOptions {
  /**
   * First delay, from which the backoff grows. Default `'250ms'`, range 10ms–1m. No retry comes
   * sooner than 250 ms (the hold's confirmation: renewInterval, if shorter), whatever this says.
   */
  initialDelay?: Duration;
  /** Cap. Default `'10s'`, range `initialDelay`–10m. A 403 waits this long between tries. */
  maxDelay?: Duration;
}

/** A minimal logger; Nest's `Logger` and `console` both fit. */
export interface ElectionLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

/**
 * Options of one election (one key). Every timing accepts milliseconds or a Consul duration string.
 *
 * Safety rules, enforced at construction: `renewInterval + requestTimeout < leaseDuration`
 * (a confirmation can fail once and be retried before the lease runs out), `requestTimeout <
 * leaseDuration`, and `lockDelay >= leaseDuration` (Consul keeps the key from others at least as long
 * as an old leader might still believe it leads).
 */
export interface ElectionOptions {
  /** The Consul KV key the candidates compete for, e.g. `'service/billing/leader'`. Required. */
  key: string;
  consul?: ConsulConnectionOptions;
  /** This candidate's identity as others see it. Default: `<hostname>-<pid>-<random>`. */
  instanceId?: string;
  /** JSON-serialisable data written into the key while this instance leads (shown in `leader`). */
  metadata?: Record<string, unknown>;
  /**
   * The lease D: the leader acts only until D after the send time of its last renewal that Consul
   * confirmed. Default `'2500ms'`, range 200ms–60s.
   */
  leaseDuration?: Duration;
  /** How often the leader confirms its hold. Default: half of `leaseDuration`, so one timed-out confirmation can be retried in time. */
  renewInterval?: Duration;
  /** Timeout of each request on the leader's path. Default: the smallest of 1s, `leaseDuration / 5` and `healthCheck.ttl / 4`. */
  requestTimeout?: Duration;
  /** Consul lock-delay on the session. Default: `leaseDuration`; range `leaseDuration`–60s. */
  lockDelay?: Duration;
  /** Session TTL, a backstop behind the health check. Default `'30s'`, range `sessionTtlMin`–24h, Consul's own. */
  sessionTtl?: Duration;
  /**
   * The Consul servers' `session_ttl_min`, where it is lowered from Consul's default `'10s'`: the
   * shortest `sessionTtl` accepted. Default `'10s'`, range 1s–10s. Consul refuses a session with a
   * shorter TTL (`500 Invalid Session TTL`), so the election refuses it at construction.
   */
  sessionTtlMin?: Duration;
  /** Bind the session to a per-instance TTL check (default), or `false` to rely on the session TTL alone. */
  healthCheck?: HealthCheckOptions | false;
  /**
   * Ordered succession: the k-th candidate in line tries to take a free key only `k × successionStep`
   * after the first, so a failover costs one acquire, not one per candidate. Default `'250ms'`,
   * range 10ms–10s. Needs the health check (the order comes from the catalog).
   */
  successionStep?: Duration;
  /** Blocking-query wait when watching the key. Default `'60s'`, range 1s–10m. */
  watchWait?: Duration;
  /** How long `resign()` keeps this instance from campaigning again. Default `'5s'`, range 0–1h. */
  resignPause?: Duration;
  /** How long `stop()` waits for in-flight leader work before releasing. Default `'10s'`, range 0–10m. */
  drainTimeout?: Duration;
  retry?: RetryOptions;
  /**
   * Fail at start instead of retrying when the first answers show a misconfiguration that retrying
   * cannot fix (the address is not a Consul agent, Consul refuses the session TTL, a malformed
   * request): `start()` then stops the election and rejects with an {@link ElectionStartError}, and
   * the Nest module fails bootstrap (with `waitForElection`, also when Consul cannot be used at all
   * at bootstrap). Default false: the election logs the problem at ERROR and keeps retrying slowly.
   */
  failFast?: boolean;
  /** Where transitions and problems are logged. Default: `console`. */
  logger?: ElectionLogger;
  /** For tests and embedding: the clock (default: monotonic system clock). */
  clock?: Clock;
  /** For tests and embedding: the Consul port (default: the `consul` npm client). */
  consulPort?: ConsulPort;
}

/** Options after defaults and validation; all durations in milliseconds. */
export interface ResolvedElectionOptions {
  readonly key: string;
  readonly consul: Readonly<Required<Pick<ConsulConnectionOptions, 'host' | 'port' | 'secure'>>> &
    Readonly<Pick<ConsulConnectionOptions, 'ca' | 'token' | 'dc'>>;
  readonly instanceId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly lockDelayMs: number;
  readonly sessionTtlMs: number;
  readonly healthCheck: {
    readonly ttlMs: number;
    readonly standbyTtlMs: number;
    readonly deregisterCriticalServiceAfterMs: number;
    readonly serviceName: string;
  } | null;
  readonly successionStepMs: number;
  readonly watchWaitMs: number;
  readonly resignPauseMs: number;
  readonly drainTimeoutMs: number;
  readonly retry: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly failFast: boolean;
}
