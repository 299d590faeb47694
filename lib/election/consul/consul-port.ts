/**
 * The election's only way out to Consul. The real implementation sits on the `consul` npm client
 * ({@link NodeConsulPort}); the interface keeps the election loop free of HTTP details and lets a
 * counting or failing port wrap the real one.
 *
 * Every method takes a timeout: the leader's renewal path must never wait longer than its lease.
 */
export interface ConsulPort extends ConsulKeyPort, ConsulSessionPort, ConsulAgentPort {
  /** Frees sockets; pending requests fail. */
  close(): void;
}

/** The key: reads and blocking reads, and the writes conditioned on the state the caller saw. */
export interface ConsulKeyPort {
  /** Reads the key; with `index`, a blocking query that returns when the key's index moves past it or `waitMs` ends. */
  readKey(key: string, request: ReadKeyRequest): Promise<KeyRead>;
  /**
   * Acquires the key for the session in one transaction, only if the key is still in the state the
   * caller observed (`expectedModifyIndex`, or absent when 0), and returns its indexes after (the
   * `ModifyIndex` is the fencing token).
   */
  acquire(request: AcquireRequest, timeoutMs: number): Promise<AcquireResult>;
  /**
   * Releases the key held by the session, writing `value` (no lock-delay applies to a release), only
   * if the key is still in the state of that hold (`expectedModifyIndex`): a retried release must
   * never free a newer hold. False when it was not (already released, or held anew).
   */
  release(request: ReleaseRequest, timeoutMs: number): Promise<boolean>;
  /**
   * Rewrites the value of a key the session holds (same LockIndex), only while it still holds it in
   * the state last written (`expectedModifyIndex`). Returns the new ModifyIndex, or null if not.
   */
  rewriteHeld(request: ReleaseRequest, timeoutMs: number): Promise<number | null>;
  /** True when the session is alive and still holds the key (a `check-session` transaction). */
  confirmHolding(key: string, sessionId: string, timeoutMs: number): Promise<boolean>;
}

/** The session that holds the key. */
export interface ConsulSessionPort {
  createSession(session: NewSession, timeoutMs: number): Promise<string>;
  /** `'not-found'` means Consul no longer knows the session: whatever it held is gone. */
  renewSession(sessionId: string, timeoutMs: number): Promise<'renewed' | 'not-found'>;
  destroySession(sessionId: string, timeoutMs: number): Promise<void>;
}

/** This instance's service and TTL check in the agent, and the passing candidates of a service. */
export interface ConsulAgentPort {
  /** Registers (or re-registers) this instance as a service in the agent's catalog. */
  registerService(service: CandidateService, timeoutMs: number): Promise<void>;
  /**
   * Registers a TTL check that starts passing, or re-registers it with another TTL. Consul keeps the
   * sessions bound to a check across a re-registration that stays passing (checked on 1.8.7).
   */
  registerTtlCheck(check: TtlCheck, timeoutMs: number): Promise<void>;
  /**
   * The instances of a service whose checks all pass, for ordered succession; a blocking query with
   * `index`. With `includeCritical`, every instance in the catalog, its checks passing or not.
   */
  readCandidates(serviceName: string, request: ReadCandidatesRequest): Promise<CandidatesRead>;
  passCheck(checkId: string, timeoutMs: number): Promise<'passed' | 'not-found'>;
  deregisterService(serviceId: string, timeoutMs: number): Promise<void>;
}

export interface ReadKeyRequest {
  /** Blocking-query index; 0 or absent reads at once. */
  readonly index?: number;
  readonly waitMs?: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface ReadCandidatesRequest extends ReadKeyRequest {
  /** Every instance of the service, not only those whose checks all pass. */
  readonly includeCritical?: boolean;
}

export interface KeyEntry {
  readonly value: string | null;
  readonly session: string | null;
  readonly lockIndex: number;
  readonly modifyIndex: number;
}

export interface KeyRead {
  /** Null when the key does not exist. */
  readonly entry: KeyEntry | null;
  /** `X-Consul-Index` of the answer, for the next blocking query. */
  readonly index: number;
}

export interface NewSession {
  readonly name: string;
  readonly ttlMs: number;
  readonly lockDelayMs: number;
  /** Check ids the session is bound to; `serfHealth` is always added by Consul. */
  readonly checks: readonly string[];
}

export interface AcquireRequest {
  readonly key: string;
  readonly sessionId: string;
  readonly value: string;
  /** ModifyIndex of the free key the caller observed; 0 when it observed no key. */
  readonly expectedModifyIndex: number;
}

export interface ReleaseRequest {
  readonly key: string;
  readonly sessionId: string;
  readonly value: string;
  /** ModifyIndex of the key while held: the one the acquire left. */
  readonly expectedModifyIndex: number;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lockIndex: number; readonly modifyIndex: number }
  | {
      readonly acquired: false;
      readonly reason: 'changed' | 'held' | 'lock-delay' | 'session-invalid';
      readonly detail: string;
    };

export interface CandidateService {
  readonly id: string;
  readonly name: string;
  readonly meta: Readonly<Record<string, string>>;
  /**
   * Its TTL check, registered in the same request: a registration that arrives late (its request
   * timed out, the service was deregistered since) then brings its check along, turns critical and
   * is reaped after `deregisterCriticalServiceAfter`, instead of standing in the catalog for ever.
   */
  readonly check?: Omit<TtlCheck, 'serviceId'>;
}

export interface TtlCheck {
  readonly id: string;
  readonly name: string;
  readonly serviceId: string;
  readonly ttlMs: number;
  readonly deregisterCriticalServiceAfterMs: number;
}

export interface Candidate {
  readonly instanceId: string;
  /** The key this candidate competes for (its service's `leader-key` meta); null when not set. */
  readonly leaderKey: string | null;
  /** Raft index of the service registration: earlier registrations come first in the succession. */
  readonly createIndex: number;
  /**
   * The candidate's own `leaseDuration` in ms (its service's `lease-ms` meta): how long it may act
   * after its last confirmation. Null when not set (a version of the library from before it was).
   */
  readonly leaseMs: number | null;
}

export interface CandidatesRead {
  readonly candidates: readonly Candidate[];
  readonly index: number;
}

/**
 * What the cluster scheduler needs of Consul beyond the election's key operations: a transaction of
 * several KV operations (a fire's claim is one, see docs/design/cluster-cron.md) and whether a
 * session still lives (an orphaned run's owner died with it). Kept apart from {@link ConsulPort} so
 * that ports which only serve elections need not implement it.
 */
export interface ConsulTxnPort {
  /**
   * One `POST /v1/txn`: applied whole, or not at all when a check fails (Consul answers 409 with
   * the failing operations; `ok: false`). A write transaction, so answered by the Raft leader.
   */
  transact(operations: readonly TxnOperation[], timeoutMs: number): Promise<TxnOutcome>;
  /** True while Consul knows the session (`GET /v1/session/info/<id>`). */
  sessionAlive(sessionId: string, timeoutMs: number): Promise<boolean>;
  /**
   * Every key under `prefix`, with its value and holder, in one consistent read (a read-only
   * transaction of one `get-tree`, `?consistent`): the Raft leader confirms it still leads before
   * answering, so a deposed one cannot answer from stale state. In key order; empty when none.
   */
  readTree(prefix: string, timeoutMs: number): Promise<readonly TxnEntry[]>;
}

/** The KV transaction operations the scheduler uses, by Consul's verbs. */
export type TxnOperation =
  /** Fails unless `key` exists and is held by `sessionId`. */
  | { readonly verb: 'check-session'; readonly key: string; readonly sessionId: string }
  /** Fails unless `key` exists at `index`. */
  | { readonly verb: 'check-index'; readonly key: string; readonly index: number }
  /** Writes `value` only if `key` is at `index` (0: only if the key does not exist). */
  | { readonly verb: 'cas'; readonly key: string; readonly index: number; readonly value: string }
  /** Writes `value` (keeps the key's session; resets its LockIndex to 0). */
  | { readonly verb: 'set'; readonly key: string; readonly value: string }
  /** Returns the key with its value; fails when it does not exist. */
  | { readonly verb: 'get'; readonly key: string }
  /** Returns every key under the prefix `key`, with its value (none: no entry, no failure). */
  | { readonly verb: 'get-tree'; readonly key: string };

/** A key as a transaction returns it: only `get` carries the value (null for the other verbs). */
export interface TxnEntry extends KeyEntry {
  readonly key: string;
}

export type TxnOutcome =
  | {
      readonly ok: true;
      /** The entries, in operation order: one per operation (only `get` with its value), any number for `get-tree`. */
      readonly results: readonly TxnEntry[];
      /** Consul's `Date` header (ms since epoch, 1 s resolution), when the answer carried one. */
      readonly serverDate: number | null;
    }
  | {
      readonly ok: false;
      /** Why it rolled back: the failing operations' positions and Consul's text. */
      readonly errors: ReadonlyArray<{ readonly opIndex: number; readonly what: string }>;
      readonly serverDate: number | null;
    };
