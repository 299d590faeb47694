// An in-memory stand-in for the election's Consul port, for state-machine specs only: it models
// what the election relies on (sessions, acquire with its conditions, lock-delay, release, blocking
// reads) and lets a spec invalidate a session or stop answering. Consul behaviour itself is
// specified against a real agent (test/integration).
import type {
  AcquireRequest,
  AcquireResult,
  Candidate,
  CandidateService,
  CandidatesRead,
  ConsulPort,
  KeyEntry,
  KeyRead,
  NewSession,
  ReadKeyRequest,
  ReleaseRequest,
} from '../../lib/election';
import { ConsulRequestError } from '../../lib/election';
import type { VirtualClock } from './virtual-clock';

export class InMemoryConsul implements ConsulPort {
  entry: KeyEntry | null = null;
  private index = 1;
  private sessionCount = 0;
  readonly sessions = new Map<string, NewSession>();
  private lockDelayUntil = 0;
  private waiters: Array<() => void> = [];
  /** When set, every request on the leader's path fails this way (or never answers, for 'hang'). */
  failure: 'hang' | 'forbidden' | null = null;
  /** Requests that are never answered (the client times out; Consul never saw them). */
  readonly hangCalls = new Set<string>();
  /** Requests that Consul carries out but whose answer never arrives (the client times out). */
  readonly loseAnswersOf = new Set<string>();
  /** Virtual time every gated request takes to be answered. */
  latencyMs = 0;
  readonly calls: string[] = [];
  /** The candidates' services, as the catalog lists them (all passing). */
  private readonly services = new Map<string, Candidate>();
  private catalogIndex = 1;
  private catalogWaiters: Array<() => void> = [];

  constructor(private readonly clock: VirtualClock) {}

  async readKey(_key: string, request: ReadKeyRequest): Promise<KeyRead> {
    this.calls.push('readKey');
    if (request.index && request.index >= this.index) {
      // Like Consul: the query returns on a change, or unchanged when its wait ends.
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimer(resolve, request.waitMs ?? 60_000);
        this.waiters.push(() => {
          this.clock.clearTimer(timer);
          resolve();
        });
        request.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return { entry: this.entry, index: this.index };
  }

  async readCandidates(_serviceName: string, request: ReadKeyRequest): Promise<CandidatesRead> {
    if (request.index && request.index >= this.catalogIndex) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimer(resolve, request.waitMs ?? 60_000);
        this.catalogWaiters.push(() => {
          this.clock.clearTimer(timer);
          resolve();
        });
        request.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return { candidates: [...this.services.values()], index: this.catalogIndex };
  }

  async createSession(session: NewSession): Promise<string> {
    await this.gate('createSession');
    const id = `session-${++this.sessionCount}`;
    this.sessions.set(id, session);
    return id;
  }

  async renewSession(sessionId: string): Promise<'renewed' | 'not-found'> {
    await this.gate('renewSession');
    return this.sessions.has(sessionId) ? 'renewed' : 'not-found';
  }

  async destroySession(sessionId: string): Promise<void> {
    await this.gate('destroySession');
    this.invalidate(sessionId);
  }

  async acquire(request: AcquireRequest): Promise<AcquireResult> {
    await this.gate('acquire');
    const modifyIndex = this.entry?.modifyIndex ?? 0;
    if (modifyIndex !== request.expectedModifyIndex)
      return { acquired: false, reason: 'changed', detail: 'index moved' };
    if (!this.sessions.has(request.sessionId))
      return { acquired: false, reason: 'session-invalid', detail: 'no session' };
    if (this.entry?.session === request.sessionId) {
      // Like Consul: the holder re-locking updates the value and keeps the LockIndex.
      this.write({
        value: request.value,
        session: request.sessionId,
        lockIndex: this.entry.lockIndex,
      });
      return {
        acquired: true,
        lockIndex: this.entry!.lockIndex,
        modifyIndex: this.entry!.modifyIndex,
      };
    }
    if (this.entry?.session) return { acquired: false, reason: 'held', detail: 'held' };
    if (this.clock.now() < this.lockDelayUntil)
      return { acquired: false, reason: 'lock-delay', detail: 'lock delay' };
    this.write({
      value: request.value,
      session: request.sessionId,
      lockIndex: (this.entry?.lockIndex ?? 0) + 1,
    });
    this.answerOrLose('acquire');
    return {
      acquired: true,
      lockIndex: this.entry!.lockIndex,
      modifyIndex: this.entry!.modifyIndex,
    };
  }

  async release(request: ReleaseRequest): Promise<boolean> {
    await this.gate('release');
    const held =
      this.entry?.session === request.sessionId &&
      this.entry.modifyIndex === request.expectedModifyIndex;
    if (held) this.write({ value: request.value, session: null, lockIndex: this.entry!.lockIndex });
    this.answerOrLose('release');
    return held;
  }

  async rewriteHeld(request: ReleaseRequest): Promise<number | null> {
    await this.gate('rewriteHeld');
    if (
      this.entry?.session !== request.sessionId ||
      this.entry.modifyIndex !== request.expectedModifyIndex
    )
      return null;
    this.write({
      value: request.value,
      session: request.sessionId,
      lockIndex: this.entry.lockIndex,
    });
    return this.entry.modifyIndex;
  }

  async confirmHolding(_key: string, sessionId: string): Promise<boolean> {
    await this.gate('confirmHolding');
    return this.entry?.session === sessionId;
  }

  async registerService(service: CandidateService): Promise<void> {
    await this.gate('registerService');
    if (!this.services.has(service.id)) {
      this.catalogIndex += 1;
      this.services.set(service.id, {
        instanceId: service.meta['instance-id'],
        leaderKey: service.meta['leader-key'] ?? null,
        createIndex: this.catalogIndex,
      });
      this.notifyCatalog();
    }
  }

  async registerTtlCheck(): Promise<void> {
    await this.gate('registerTtlCheck');
  }

  async passCheck(): Promise<'passed'> {
    await this.gate('passCheck');
    return 'passed';
  }

  async deregisterService(serviceId: string): Promise<void> {
    await this.gate('deregisterService');
    if (this.services.delete(serviceId)) {
      this.catalogIndex += 1;
      this.notifyCatalog();
    }
  }

  close(): void {
    this.notify();
  }

  /** An operator deletes the key (`DELETE /v1/kv/<key>`): no lock-delay; LockIndex restarts with the next key. */
  deleteKey(): void {
    if (!this.entry) return;
    this.index += 1;
    this.entry = null;
    this.notify();
  }

  /** An operator's plain `PUT` of the key: the value changes, the session stays, LockIndex goes to 0 (seen on 1.8.7). */
  putValue(value: string): void {
    this.write({ value, session: this.entry?.session ?? null, lockIndex: 0 });
  }

  /** An operator's `PUT ?acquire=<holder's session>`: the holder re-locks, the value changes, LockIndex stays. */
  relockValue(value: string): void {
    if (!this.entry?.session) return;
    this.write({ value, session: this.entry.session, lockIndex: this.entry.lockIndex });
  }

  /** Another key is written: the store's index moves, and a blocking read of an absent key wakes. */
  writeOtherKey(): void {
    this.index += 1;
    if (!this.entry) this.notify();
  }

  /** Another client takes the key, bypassing everything: for specs of races. */
  seize(): void {
    this.sessions.set('intruder', { name: 'intruder', ttlMs: 10_000, lockDelayMs: 0, checks: [] });
    this.write({
      value: '{"instanceId":"intruder","metadata":{},"since":"2026-01-01T00:00:00.000Z"}',
      session: 'intruder',
      lockIndex: (this.entry?.lockIndex ?? 0) + 1,
    });
  }

  /** What Consul does when a session's TTL or check runs out: the key is freed, lock-delay starts. */
  invalidate(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    this.sessions.delete(sessionId);
    if (this.entry?.session === sessionId) {
      this.lockDelayUntil = this.clock.now() + (session?.lockDelayMs ?? 0);
      this.write({ value: this.entry.value, session: null, lockIndex: this.entry.lockIndex });
    }
  }

  private write(entry: Omit<KeyEntry, 'modifyIndex'>): void {
    this.index += 1;
    this.entry = { ...entry, modifyIndex: this.index };
    this.notify();
  }

  private answerOrLose(call: string): void {
    if (this.loseAnswersOf.has(call)) {
      throw new ConsulRequestError('timeout', call, 'request timed out (answer lost)');
    }
  }

  private notifyCatalog(): void {
    for (const wake of this.catalogWaiters.splice(0)) wake();
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async gate(call: string): Promise<void> {
    this.calls.push(call);
    if (this.failure === 'hang' || this.hangCalls.has(call)) await new Promise(() => undefined);
    if (this.failure === 'forbidden')
      throw new ConsulRequestError('forbidden', call, 'HTTP 403: Permission denied', 403);
    if (this.latencyMs > 0)
      await new Promise<void>((resolve) => this.clock.setTimer(resolve, this.latencyMs));
  }
}
