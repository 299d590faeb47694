// A model of the Consul agent (and the server behind it) at the level of its HTTP answers: status,
// X-Consul-Index and body, as Consul 1.8.7 gives them for the endpoints the election uses. The
// simulator drives the real NodeConsulPort over it (see model-consul-client.ts), so the port's own
// mapping of answers is what the election sees; the conformance spec
// (test/integration/conformance) runs the same operations against a real agent and compares.
//
// What is modelled, with the Consul source behaviour it follows:
// - one Raft index for every write (KV, txn, session, catalog); a write txn that rolls back still
//   takes a Raft index; `ModifyIndex` is the Raft index of the write;
// - KV reads: a present key answers its ModifyIndex, an absent one the KV table index (at least 1);
//   a blocking read returns when that index moves past `index`, or when its wait (plus up to
//   wait/16 of jitter) ends; an absent key's read therefore wakes on any KV write; an `index` ahead
//   of the store is held for the whole wait;
// - `LockIndex` per key life (1 on the first lock after creation, +1 per new holder, kept by the
//   holder's re-lock and by unlock, 0 after a plain PUT, which keeps the session);
// - transactions: `get-tree` (every key under a prefix, in key order; none answers 200 with no
//   results), a pre-check (ACL, lock-delay) that answers 409 without applying, then every
//   operation in order against the state the previous ones left, every failure collected, all
//   rolled back when any failed;
// - sessions: TTL expiry at exactly 2 × TTL after the last renew (the server's multiplier), checks
//   bound to them (a check that turns critical, or is removed, invalidates its sessions), lock-delay
//   on the names of the keys an invalidated session held (kept after the key is deleted, lost when
//   the server restarts), none on an unlock;
// - the agent's services and TTL checks, the catalog's passing instances with their CreateIndex;
//   a critical check's service reaped `DeregisterCriticalServiceAfter` later (at the agent's 30 s reap);
// - ACL tokens with denied capabilities (per token: the key rule, the session rule, or all);
// - an agent restart with its state wiped (indexes go back) or kept.
import type { Clock, TimerHandle } from '../../lib/election';
import { parseDuration } from '../../lib/election/time/duration';

export interface ModelAnswer {
  readonly status: number;
  /** X-Consul-Index, for the endpoints that send it. */
  readonly index?: number;
  readonly body: unknown;
}

/** Capabilities an ACL token can be denied. */
export type AclCapability =
  'key:read' | 'key:write' | 'session:read' | 'session:write' | 'service:write';

/**
 * What an operator's edit of a token's policy takes away: the key rule (`key`), the session rule
 * (`session`), or every rule the election needs (`all`). The service rule goes only with `all`: it
 * is what lets the agent update a check, so a token that keeps it keeps its checks passing.
 */
export type AclScope = 'key' | 'session' | 'all';

export const ACL_SCOPE_CAPABILITIES: Readonly<Record<AclScope, readonly AclCapability[]>> = {
  key: ['key:read', 'key:write'],
  session: ['session:write'],
  all: ['key:read', 'key:write', 'session:write', 'service:write'],
};

export interface RawKvEntry {
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface TxnOp {
  KV: {
    Verb: string;
    Key: string;
    Value?: string;
    Index?: number;
    Session?: string;
  };
}

interface Session {
  readonly id: string;
  readonly name: string;
  readonly ttlMs: number;
  readonly lockDelayMs: number;
  readonly checks: readonly string[];
  readonly createIndex: number;
  expiry: TimerHandle | null;
}

interface Service {
  readonly id: string;
  name: string;
  meta: Record<string, string>;
  readonly createIndex: number;
  modifyIndex: number;
}

interface Check {
  readonly id: string;
  readonly serviceId: string;
  ttlMs: number;
  deregisterAfterMs: number;
  status: 'passing' | 'critical';
  criticalSince: number;
  timer: TimerHandle | null;
}

interface Waiter {
  readonly wake: () => void;
}

export class ModelUnavailableError extends Error {
  constructor(readonly code: 'ECONNREFUSED' | 'ECONNRESET') {
    super(code === 'ECONNREFUSED' ? 'connect ECONNREFUSED' : 'socket hang up');
  }
}

/** The session TTL multiplier of the server: a session expires 2 × TTL after its last renew. */
const SESSION_TTL_MULTIPLIER = 2;
/** How often the agent reaps services whose check stayed critical (Consul's CheckReapInterval). */
const CHECK_REAP_INTERVAL_MS = 30_000;
const SERF_HEALTH = 'serfHealth';

export class ConsulModel {
  /** The last Raft index used. A fresh dev agent has written a few entries before anyone asks. */
  private raftIndex = 10;
  private kvIndex = 0;
  private readonly kv = new Map<string, RawKvEntry>();
  private readonly lockDelays = new Map<string, number>();
  private readonly sessionsById = new Map<string, Session>();
  private readonly services = new Map<string, Service>();
  private readonly checks = new Map<string, Check>();
  private readonly serviceIndexes = new Map<string, number>();
  private kvWaiters = new Set<Waiter>();
  private catalogWaiters = new Set<Waiter>();
  private readonly pending = new Set<(error: Error) => void>();
  private readonly denied = new Map<string, Set<AclCapability>>();
  private reaper: TimerHandle | null = null;
  private sessionCount = 0;
  /** False while the agent is down: every request is refused. */
  up = true;
  /** Every Raft write, for checkers and traces. */
  readonly writes: Array<{ index: number; what: string }> = [];

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    this.armReaper();
  }

  // ------------------------------------------------------------------ inspection (not HTTP)

  entryOf(key: string): RawKvEntry | null {
    const entry = this.kv.get(key);
    return entry ? { ...entry } : null;
  }

  sessionIds(): string[] {
    return [...this.sessionsById.keys()];
  }

  sessionInfo(id: string): { name: string; checks: readonly string[] } | null {
    const session = this.sessionsById.get(id);
    return session ? { name: session.name, checks: session.checks } : null;
  }

  serviceIds(): string[] {
    return [...this.services.keys()];
  }

  checkIds(): string[] {
    return [...this.checks.keys()];
  }

  /** Ids of the checks that pass now. */
  passingCheckIds(): string[] {
    return [...this.checks.values()].filter(passing).map((check) => check.id);
  }

  /** The last Raft index used (what the next write's index follows). */
  lastIndex(): number {
    return this.raftIndex;
  }

  lockDelayUntil(key: string): number {
    return this.lockDelays.get(key) ?? 0;
  }

  // ------------------------------------------------------------------ operator and fault actions

  /** An ACL token loses (or, with an empty list, gets back) capabilities. */
  deny(token: string, capabilities: readonly AclCapability[]): void {
    if (capabilities.length === 0) this.denied.delete(token);
    else this.denied.set(token, new Set(capabilities));
  }

  /**
   * An ACL token loses the rights of `scope` (see {@link AclScope}) besides those it lost before;
   * `deny(token, [])` gives them all back.
   */
  revoke(token: string, scope: AclScope): void {
    this.deny(token, [...(this.denied.get(token) ?? []), ...ACL_SCOPE_CAPABILITIES[scope]]);
  }

  /** A check turns critical now (an operator, or a failing probe). */
  failCheck(checkId: string): void {
    const check = this.checks.get(checkId);
    if (check) this.setCheckStatus(check, 'critical');
  }

  /**
   * The agent stops: every request in flight fails with a reset, new ones are refused, until
   * {@link restart}. With `wipe`, it comes back with no state and its indexes start over (a dev agent).
   */
  crash(): void {
    this.up = false;
    for (const fail of [...this.pending]) fail(new ModelUnavailableError('ECONNRESET'));
    this.pending.clear();
    this.kvWaiters.clear();
    this.catalogWaiters.clear();
  }

  restart(wipe: boolean): void {
    if (this.up) this.crash();
    for (const session of this.sessionsById.values()) {
      if (session.expiry) this.clock.clearTimer(session.expiry);
      session.expiry = null;
    }
    for (const check of this.checks.values()) {
      if (check.timer) this.clock.clearTimer(check.timer);
      check.timer = null;
    }
    // The lock-delay table lives in the server's memory only.
    this.lockDelays.clear();
    if (wipe) {
      this.kv.clear();
      this.sessionsById.clear();
      this.services.clear();
      this.checks.clear();
      this.serviceIndexes.clear();
      this.raftIndex = 10;
      this.kvIndex = 0;
      this.writes.push({ index: 0, what: 'wiped' });
    } else {
      // A new server leader arms every session's timer afresh; the agent restores its TTL checks.
      for (const session of this.sessionsById.values()) this.armSession(session);
      for (const check of this.checks.values())
        if (check.status === 'passing') this.armCheck(check);
    }
    this.up = true;
  }

  /** Stops the model's own timers, for the end of a run. */
  dispose(): void {
    this.crash();
    this.restart(true);
    if (this.reaper) this.clock.clearTimer(this.reaper);
    this.reaper = null;
  }

  // ------------------------------------------------------------------ KV endpoints

  async kvGet(
    key: string,
    query: { index?: number; waitMs?: number } = {},
    token = '',
  ): Promise<ModelAnswer> {
    this.ensureUp();
    if (this.isDenied(token, 'key:read')) return forbidden();
    const answer = (): ModelAnswer => {
      const entry = this.kv.get(key);
      return entry
        ? { status: 200, index: entry.ModifyIndex, body: [{ ...entry }] }
        : { status: 404, index: Math.max(this.kvIndex, 1), body: '' };
    };
    const index = query.index ?? 0;
    if (index > 0) {
      await this.block(this.kvWaiters, () => (answer().index ?? 0) > index, query.waitMs);
    }
    return answer();
  }

  /** A plain PUT (no `?acquire`): keeps the holder's session, resets LockIndex to 0. */
  kvPut(key: string, value: string, token = ''): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'key:write')) return forbidden();
    const index = this.nextIndex(`put ${key}`);
    const existing = this.kv.get(key);
    const entry: RawKvEntry = {
      Key: key,
      Flags: 0,
      Value: encode(value),
      ...(existing?.Session ? { Session: existing.Session } : {}),
      LockIndex: 0,
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
    };
    if (!existing || !sameEntry(existing, entry)) {
      this.kv.set(key, entry);
      this.kvWritten(index);
    }
    return { status: 200, body: true };
  }

  kvDelete(key: string, token = ''): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'key:write')) return forbidden();
    const index = this.nextIndex(`delete ${key}`);
    // Deleting a key that is not there changes nothing, not even the table index (seen on 1.8.7).
    if (this.kv.delete(key)) this.kvWritten(index);
    return { status: 200, body: true };
  }

  txn(ops: readonly TxnOp[], token = ''): ModelAnswer {
    this.ensureUp();
    const readOnly = ops.every((op) => READ_VERBS.has(op.KV.Verb));
    // The pre-check runs on the server before Raft: ACLs, and the lock-delay of every lock.
    const preErrors: Array<{ OpIndex: number; What: string }> = [];
    ops.forEach((op, i) => {
      const capability: AclCapability = READ_VERBS.has(op.KV.Verb) ? 'key:read' : 'key:write';
      if (this.isDenied(token, capability)) {
        preErrors.push({ OpIndex: i, What: 'Permission denied' });
      } else if (op.KV.Verb === 'lock' && this.lockDelayUntil(op.KV.Key) > this.clock.now()) {
        preErrors.push({
          OpIndex: i,
          What: `failed to lock key "${op.KV.Key}" due to lock delay`,
        });
      }
    });
    if (preErrors.length > 0) return { status: 409, body: { Results: null, Errors: preErrors } };
    const index = readOnly ? this.raftIndex : this.nextIndex('txn');
    const scratch = new Map(this.kv);
    const results: Array<{ KV: RawKvEntry }> = [];
    const errors: Array<{ OpIndex: number; What: string }> = [];
    ops.forEach((op, i) => {
      if (op.KV.Verb === 'get-tree') {
        // Every key under the prefix, in key order, with its value; none is not a failure.
        const under = [...scratch.values()].filter((entry) => entry.Key.startsWith(op.KV.Key));
        under.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
        for (const entry of under) results.push({ KV: { ...entry } });
        return;
      }
      const outcome = this.applyTxnOp(scratch, op.KV, index);
      if (typeof outcome === 'string') errors.push({ OpIndex: i, What: outcome });
      else if (outcome) results.push({ KV: outcome });
    });
    if (errors.length > 0) return { status: 409, body: { Results: null, Errors: errors } };
    if (!readOnly) {
      let wrote = false;
      for (const [key, entry] of scratch) {
        if (this.kv.get(key) !== entry) wrote = true;
      }
      this.kv.clear();
      for (const [key, entry] of scratch) this.kv.set(key, entry);
      if (wrote) this.kvWritten(index);
    }
    return { status: 200, body: { Results: results, Errors: null } };
  }

  /** One txn KV operation: the entry it returns, null for none, or the text of its failure. */
  private applyTxnOp(
    kv: Map<string, RawKvEntry>,
    op: TxnOp['KV'],
    index: number,
  ): RawKvEntry | null | string {
    const existing = kv.get(op.Key);
    const blank = (entry: RawKvEntry): RawKvEntry => ({ ...entry, Value: null });
    switch (op.Verb) {
      case 'get':
        return existing ? { ...existing } : `key "${op.Key}" doesn't exist`;
      case 'check-index':
        if (!existing) return `failed to check index, key "${op.Key}" doesn't exist`;
        if (existing.ModifyIndex !== op.Index)
          return `failed index check for key "${op.Key}", current modify index ${existing.ModifyIndex} != ${op.Index}`;
        return blank(existing);
      case 'check-not-exists':
        return existing ? `key "${op.Key}" exists` : null;
      case 'check-session':
        if (!existing) return `failed to check session, key "${op.Key}" doesn't exist`;
        if ((existing.Session ?? '') !== op.Session)
          return `failed session check for key "${op.Key}", current session "${existing.Session ?? ''}" != "${op.Session}"`;
        return blank(existing);
      case 'lock': {
        if (!op.Session) return 'missing session';
        if (!this.sessionsById.has(op.Session)) return `invalid session "${op.Session}"`;
        let lockIndex = 1;
        if (existing?.Session === op.Session) lockIndex = existing.LockIndex;
        else if (existing?.Session) return `failed to lock key "${op.Key}", lock is already held`;
        else if (existing) lockIndex = existing.LockIndex + 1;
        const entry: RawKvEntry = {
          Key: op.Key,
          Flags: 0,
          Value: op.Value ?? null,
          Session: op.Session,
          LockIndex: lockIndex,
          CreateIndex: existing?.CreateIndex ?? index,
          ModifyIndex: index,
        };
        return this.store(kv, existing, entry);
      }
      case 'unlock': {
        if (!op.Session) return 'missing session';
        if (!existing || existing.Session !== op.Session)
          return `failed to unlock key "${op.Key}", lock isn't held, or is held by another session`;
        const entry: RawKvEntry = {
          Key: op.Key,
          Flags: 0,
          Value: op.Value ?? null,
          LockIndex: existing.LockIndex,
          CreateIndex: existing.CreateIndex,
          ModifyIndex: index,
        };
        return this.store(kv, existing, entry);
      }
      case 'cas': {
        // Index 0: only if absent; else only at that ModifyIndex. Then a `set` (seen on 1.8.7).
        const stale = op.Index === 0 ? existing !== undefined : existing?.ModifyIndex !== op.Index;
        if (stale) return `failed to set key "${op.Key}", index is stale`;
        return this.applyTxnOp(kv, { ...op, Verb: 'set' }, index);
      }
      case 'set': {
        const entry: RawKvEntry = {
          Key: op.Key,
          Flags: 0,
          Value: op.Value ?? null,
          ...(existing?.Session ? { Session: existing.Session } : {}),
          LockIndex: 0,
          CreateIndex: existing?.CreateIndex ?? index,
          ModifyIndex: index,
        };
        return this.store(kv, existing, entry);
      }
      case 'delete':
        kv.delete(op.Key);
        return null;
      default:
        return `unknown KV verb "${op.Verb}"`;
    }
  }

  /**
   * Writes an entry, unless it equals the existing one (key, flags, value, session, LockIndex):
   * Consul skips such a write, so the key keeps its ModifyIndex (seen on 1.8.7: a holder's re-lock
   * with the same value answers the old ModifyIndex).
   */
  private store(
    kv: Map<string, RawKvEntry>,
    existing: RawKvEntry | undefined,
    entry: RawKvEntry,
  ): RawKvEntry {
    if (existing && sameEntry(existing, entry)) return { ...existing, Value: null };
    kv.set(entry.Key, entry);
    return { ...entry, Value: null };
  }

  // ------------------------------------------------------------------ session endpoints

  sessionCreate(
    body: { Name?: string; TTL?: string; LockDelay?: string; Checks?: string[] },
    token = '',
  ): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'session:write')) return forbidden();
    const checks = body.Checks ?? [SERF_HEALTH];
    for (const id of checks) {
      if (id === SERF_HEALTH) continue;
      const check = this.checks.get(id);
      if (!check) return { status: 500, body: `Missing check '${id}' registration` };
      if (check.status !== 'passing')
        return { status: 500, body: `Check '${id}' is in critical state` };
    }
    const createIndex = this.nextIndex('session create');
    const session: Session = {
      id: this.newId(),
      name: body.Name ?? '',
      ttlMs: durationMs(body.TTL) ?? 0,
      lockDelayMs: durationMs(body.LockDelay) ?? 15_000,
      checks,
      createIndex,
      expiry: null,
    };
    this.sessionsById.set(session.id, session);
    this.armSession(session);
    return { status: 200, body: { ID: session.id } };
  }

  /**
   * `GET /v1/session/info/<id>`: the session in a list, or an empty list when unknown (1.8.7). A
   * token that may not read sessions gets the empty list too: Consul filters, it does not refuse.
   */
  sessionRead(id: string, token = ''): ModelAnswer {
    this.ensureUp();
    const session = this.sessionsById.get(id);
    if (!session || this.isDenied(token, 'session:read'))
      return { status: 200, index: this.raftIndex, body: [] };
    const body = [{ ID: id, Name: session.name, CreateIndex: session.createIndex }];
    return { status: 200, index: this.raftIndex, body };
  }

  sessionRenew(id: string, token = ''): ModelAnswer {
    this.ensureUp();
    // Consul looks the session up before it asks the ACLs (the rule names the session's node): a
    // session it no longer knows answers 404 to a token without session rights too (seen on 1.8.7).
    const session = this.sessionsById.get(id);
    if (!session) return { status: 404, body: `Session id '${id}' not found` };
    if (this.isDenied(token, 'session:write')) return forbidden();
    this.armSession(session);
    return { status: 200, body: [{ ID: id, Name: session.name }] };
  }

  sessionDestroy(id: string, token = ''): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'session:write')) return forbidden();
    const index = this.nextIndex(`session destroy ${id}`);
    this.invalidate(id, index);
    return { status: 200, body: true };
  }

  // ------------------------------------------------------------------ agent and catalog endpoints

  serviceRegister(
    body: {
      ID: string;
      Name: string;
      Meta?: Record<string, string>;
      /** A check registered with the service, in the same request. */
      Check?: {
        CheckID: string;
        TTL: string;
        Status?: string;
        DeregisterCriticalServiceAfter?: string;
      };
    },
    token = '',
  ): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'service:write')) return forbidden();
    const answer = this.registerServiceOnly(body);
    if (body.Check) {
      // The agent syncs a service and its check to the catalog as one change: one index for both.
      const { CheckID, ...check } = body.Check;
      const atIndex = this.services.get(body.ID)?.modifyIndex;
      return this.checkRegister({ ...check, ID: CheckID, ServiceID: body.ID }, token, atIndex);
    }
    return answer;
  }

  private registerServiceOnly(body: {
    ID: string;
    Name: string;
    Meta?: Record<string, string>;
  }): ModelAnswer {
    const existing = this.services.get(body.ID);
    const meta = { ...(body.Meta ?? {}) };
    if (existing && existing.name === body.Name && sameMeta(existing.meta, meta)) {
      return { status: 200, body: '' };
    }
    const index = this.nextIndex(`service register ${body.ID}`);
    if (existing) {
      existing.name = body.Name;
      existing.meta = meta;
      existing.modifyIndex = index;
    } else {
      this.services.set(body.ID, {
        id: body.ID,
        name: body.Name,
        meta,
        createIndex: index,
        modifyIndex: index,
      });
    }
    this.catalogChanged(body.Name, index);
    return { status: 200, body: '' };
  }

  checkRegister(
    body: {
      ID: string;
      ServiceID: string;
      TTL: string;
      Status?: string;
      DeregisterCriticalServiceAfter?: string;
    },
    token = '',
    /** Registered with its service, in the same request: no index of its own. */
    atIndex?: number,
  ): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'service:write')) return forbidden();
    const service = this.services.get(body.ServiceID);
    if (!service) return { status: 500, body: `ServiceID "${body.ServiceID}" does not exist` };
    const ttlMs = durationMs(body.TTL) ?? 0;
    const deregisterAfterMs = durationMs(body.DeregisterCriticalServiceAfter) ?? Infinity;
    const existing = this.checks.get(body.ID);
    if (existing) {
      // The agent restores the state it persisted for a TTL check, whatever the registration asks.
      existing.ttlMs = ttlMs;
      existing.deregisterAfterMs = deregisterAfterMs;
      if (existing.status === 'passing') this.armCheck(existing);
      return { status: 200, body: '' };
    }
    const check: Check = {
      id: body.ID,
      serviceId: body.ServiceID,
      ttlMs,
      deregisterAfterMs,
      status: body.Status === 'passing' ? 'passing' : 'critical',
      criticalSince: this.clock.now(),
      timer: null,
    };
    this.checks.set(check.id, check);
    this.catalogChanged(service.name, atIndex ?? this.nextIndex(`check register ${check.id}`));
    if (check.status === 'passing') this.armCheck(check);
    return { status: 200, body: '' };
  }

  checkPass(checkId: string, token = ''): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'service:write')) return forbidden();
    const check = this.checks.get(checkId);
    if (!check) return { status: 500, body: `Unknown check "${checkId}"` };
    this.setCheckStatus(check, 'passing');
    this.armCheck(check);
    return { status: 200, body: '' };
  }

  serviceDeregister(serviceId: string, token = ''): ModelAnswer {
    this.ensureUp();
    if (this.isDenied(token, 'service:write')) return forbidden();
    const service = this.services.get(serviceId);
    if (!service) return { status: 404, body: `Unknown service ID "${serviceId}"` };
    this.removeService(service);
    return { status: 200, body: '' };
  }

  async healthService(
    name: string,
    query: { passing?: boolean; index?: number; waitMs?: number } = {},
    token = '',
  ): Promise<ModelAnswer> {
    this.ensureUp();
    void token;
    const indexOf = (): number => Math.max(this.serviceIndexes.get(name) ?? this.raftIndex, 1);
    const index = query.index ?? 0;
    if (index > 0) await this.block(this.catalogWaiters, () => indexOf() > index, query.waitMs);
    const entries = [...this.services.values()]
      .filter((service) => service.name === name)
      .filter((service) => !query.passing || this.checksOf(service).every(passing))
      .sort((a, b) => a.createIndex - b.createIndex)
      .map((service) => ({
        Node: { Node: 'model' },
        Service: {
          ID: service.id,
          Service: service.name,
          Meta: { ...service.meta },
          CreateIndex: service.createIndex,
          ModifyIndex: service.modifyIndex,
        },
        Checks: [
          { CheckID: SERF_HEALTH, Status: 'passing' },
          ...this.checksOf(service).map((check) => ({
            CheckID: check.id,
            ServiceID: service.id,
            Status: check.status,
          })),
        ],
      }));
    return { status: 200, index: indexOf(), body: entries };
  }

  // ------------------------------------------------------------------ internals

  private checksOf(service: Service): Check[] {
    return [...this.checks.values()].filter((check) => check.serviceId === service.id);
  }

  private removeService(service: Service): void {
    const index = this.nextIndex(`service deregister ${service.id}`);
    this.services.delete(service.id);
    for (const check of this.checksOf(service)) {
      if (check.timer) this.clock.clearTimer(check.timer);
      this.checks.delete(check.id);
      // A check that is gone invalidates the sessions bound to it, in the same write.
      this.invalidateBoundTo(check.id, index);
    }
    this.catalogChanged(service.name, index);
  }

  private setCheckStatus(check: Check, status: Check['status']): void {
    if (check.status === status) return;
    check.status = status;
    const index = this.nextIndex(`check ${check.id} ${status}`);
    if (status === 'critical') {
      check.criticalSince = this.clock.now();
      if (check.timer) this.clock.clearTimer(check.timer);
      check.timer = null;
      this.invalidateBoundTo(check.id, index);
    }
    const service = this.services.get(check.serviceId);
    if (service) this.catalogChanged(service.name, index);
  }

  private invalidateBoundTo(checkId: string, index: number): void {
    for (const session of [...this.sessionsById.values()]) {
      if (session.checks.includes(checkId)) this.invalidate(session.id, index);
    }
  }

  private armCheck(check: Check): void {
    if (check.timer) this.clock.clearTimer(check.timer);
    check.timer = this.clock.setTimer(() => {
      check.timer = null;
      if (this.up) this.setCheckStatus(check, 'critical');
    }, check.ttlMs);
  }

  private armReaper(): void {
    this.reaper = this.clock.setTimer(() => {
      if (this.up) {
        for (const service of [...this.services.values()]) {
          const overdue = this.checksOf(service).some(
            (check) =>
              check.status === 'critical' &&
              this.clock.now() - check.criticalSince >= check.deregisterAfterMs,
          );
          if (overdue) this.removeService(service);
        }
      }
      this.armReaper();
    }, CHECK_REAP_INTERVAL_MS);
  }

  private armSession(session: Session): void {
    if (session.expiry) this.clock.clearTimer(session.expiry);
    session.expiry = null;
    if (session.ttlMs <= 0) return;
    session.expiry = this.clock.setTimer(() => {
      session.expiry = null;
      if (this.up && this.sessionsById.get(session.id) === session) {
        this.invalidate(session.id, this.nextIndex(`session ${session.id} expired`));
      }
    }, session.ttlMs * SESSION_TTL_MULTIPLIER);
  }

  /** Deletes the session; keys it held are released (value kept) and get its lock-delay. */
  private invalidate(id: string, index: number): void {
    const session = this.sessionsById.get(id);
    if (!session) return;
    if (session.expiry) this.clock.clearTimer(session.expiry);
    this.sessionsById.delete(id);
    let released = false;
    for (const [key, entry] of this.kv) {
      if (entry.Session !== id) continue;
      const { Session: _dropped, ...rest } = entry;
      this.kv.set(key, { ...rest, ModifyIndex: index });
      if (session.lockDelayMs > 0) this.lockDelays.set(key, this.clock.now() + session.lockDelayMs);
      released = true;
    }
    if (released) this.kvWritten(index);
  }

  private nextIndex(what: string): number {
    this.raftIndex += 1;
    this.writes.push({ index: this.raftIndex, what });
    return this.raftIndex;
  }

  private kvWritten(index: number): void {
    this.kvIndex = index;
    for (const waiter of [...this.kvWaiters]) waiter.wake();
  }

  private catalogChanged(serviceName: string, index: number): void {
    this.serviceIndexes.set(serviceName, index);
    for (const waiter of [...this.catalogWaiters]) waiter.wake();
  }

  /** A blocking query: waits until `done()` or the wait (plus jitter) ends; fails if the agent goes down. */
  private block(waiters: Set<Waiter>, done: () => boolean, waitMs = 300_000): Promise<void> {
    if (done()) return Promise.resolve();
    const wait = Math.min(waitMs, 600_000);
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        this.clock.clearTimer(timer);
        waiters.delete(waiter);
        this.pending.delete(fail);
        resolve();
      };
      const fail = (error: Error): void => {
        this.clock.clearTimer(timer);
        waiters.delete(waiter);
        reject(error);
      };
      const waiter: Waiter = { wake: () => (done() ? finish() : undefined) };
      const timer = this.clock.setTimer(finish, wait + (this.random() * wait) / 16);
      waiters.add(waiter);
      this.pending.add(fail);
    });
  }

  private ensureUp(): void {
    if (!this.up) throw new ModelUnavailableError('ECONNREFUSED');
  }

  private isDenied(token: string, capability: AclCapability): boolean {
    return this.denied.get(token)?.has(capability) ?? false;
  }

  private newId(): string {
    this.sessionCount += 1;
    const hex = (n: number): string =>
      Array.from({ length: n }, () => Math.floor(this.random() * 16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  }
}

const READ_VERBS = new Set(['get', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);

function sameEntry(a: RawKvEntry, b: RawKvEntry): boolean {
  return (
    a.Key === b.Key &&
    a.Flags === b.Flags &&
    a.Value === b.Value &&
    (a.Session ?? '') === (b.Session ?? '') &&
    a.LockIndex === b.LockIndex
  );
}

function forbidden(): ModelAnswer {
  return { status: 403, body: 'Permission denied' };
}

function passing(check: Check): boolean {
  return check.status === 'passing';
}

function sameMeta(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function encode(value: string): string {
  return Buffer.from(value).toString('base64');
}

/** Consul's duration strings as the port sends them (`'15s'`, `'250ms'`, `'0s'`). */
function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}
