import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import Consul from 'consul';
import type {
  AcquireRequest,
  AcquireResult,
  CandidateService,
  CandidatesRead,
  ConsulPort,
  KeyEntry,
  KeyRead,
  NewSession,
  ReadKeyRequest,
  ReleaseRequest,
  TtlCheck,
} from './consul-port';
import {
  ConsulRequestError,
  bodyText,
  classify,
  isHttpResponse,
  statusError,
  unknownToAgent,
} from './consul-request.error';
import { toConsulDuration } from './duration';
import type { ResolvedElectionOptions } from './election-options';
import { ElectionMessages } from './election.messages';

type ConsulClient = InstanceType<typeof Consul>;

interface RawKvEntry {
  Key: string;
  Value?: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface RawServiceEntry {
  Service?: { ID: string; Meta?: Record<string, string> | null; CreateIndex?: number };
}

interface TxnAnswer {
  Results?: Array<{ KV?: RawKvEntry }> | null;
  Errors?: Array<{ OpIndex: number; What: string }> | null;
}

/** An HTTP answer from Consul, whatever its status. */
interface ConsulAnswer {
  readonly status: number;
  readonly index: number;
  readonly body: unknown;
}

/** The client's request pipeline (papi), where an extension can amend a request before it is built. */
interface PapiClient {
  _ext(
    event: 'onCreate',
    callback: (request: { opts: { method?: string; body?: unknown } }, next: () => void) => void,
  ): void;
}

/** What the client's calls accept besides their own fields: per-request timeout and context. */
type RequestOptions = { timeout: number; ctx: EventEmitter };

/**
 * {@link ConsulPort} on the `consul` npm client (v2), over one keep-alive agent so that a renewal
 * costs a request, not a TCP handshake.
 *
 * Every call asks the client for the raw response and accepts an answer only by its shape: the
 * client reports some failures by *resolving* with the error (it tells errors from values with
 * `instanceof Error`, which is false for an error made in another realm — Node's socket errors
 * under Jest's sandbox, for one). Taking such a value for a result would confirm a hold that
 * Consul never confirmed.
 */
export class NodeConsulPort implements ConsulPort {
  private readonly client: ConsulClient;
  private readonly agent: http.Agent;

  constructor(connection: ResolvedElectionOptions['consul']) {
    this.agent = connection.secure
      ? new https.Agent({ keepAlive: true, ca: connection.ca })
      : new http.Agent({ keepAlive: true });
    this.client = new Consul({
      host: connection.host,
      port: connection.port,
      secure: connection.secure,
      agent: this.agent,
      defaults: {
        ...(connection.token ? { token: connection.token } : {}),
        ...(connection.dc ? { dc: connection.dc } : {}),
      },
    });
    // The client sends PUTs without a body (renew, check pass, destroy, deregister) with
    // Content-Length 0; newer Consul checks the length of writes, so every PUT carries `{}`,
    // which each of those endpoints ignores (checked on 1.8.7).
    (this.client as unknown as PapiClient)._ext('onCreate', (request, next) => {
      if (request.opts.method === 'PUT' && request.opts.body === undefined) request.opts.body = {};
      next();
    });
  }

  async readKey(key: string, request: ReadKeyRequest): Promise<KeyRead> {
    const answer = await this.send('key read', request.timeoutMs, request.signal, (options) =>
      this.client.kv.get({ key, ...blocking(request), ...options } as never),
    );
    if (answer.status === 404) return { entry: null, index: answer.index };
    const raw = expect(answer, 'key read', 200, isKvEntry);
    return { entry: toKeyEntry(raw), index: answer.index };
  }

  async createSession(session: NewSession, timeoutMs: number): Promise<string> {
    const answer = await this.send('session create', timeoutMs, undefined, (options) =>
      this.client.session.create({
        name: session.name,
        ttl: toConsulDuration(session.ttlMs),
        lockdelay: toConsulDuration(session.lockDelayMs),
        checks: ['serfHealth', ...session.checks],
        behavior: 'release',
        ...options,
      } as never),
    );
    return expect(
      answer,
      'session create',
      200,
      (body): body is { ID: string } =>
        typeof (body as { ID?: unknown } | undefined)?.ID === 'string',
    ).ID;
  }

  async renewSession(sessionId: string, timeoutMs: number): Promise<'renewed' | 'not-found'> {
    const answer = await this.send('session renew', timeoutMs, undefined, (options) =>
      this.client.session.renew({ id: sessionId, ...options } as never),
    );
    if (answer.status === 404) return 'not-found';
    expect(answer, 'session renew', 200);
    return 'renewed';
  }

  async destroySession(sessionId: string, timeoutMs: number): Promise<void> {
    const answer = await this.send('session destroy', timeoutMs, undefined, (options) =>
      this.client.session.destroy({ id: sessionId, ...options } as never),
    );
    expect(answer, 'session destroy', 200);
  }

  async acquire(request: AcquireRequest, timeoutMs: number): Promise<AcquireResult> {
    const precondition =
      request.expectedModifyIndex > 0
        ? { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } }
        : { KV: { Verb: 'check-not-exists', Key: request.key } };
    const answer = await this.transaction(
      'acquire',
      [precondition, withValue('lock', request), { KV: { Verb: 'get', Key: request.key } }],
      timeoutMs,
    );
    if (answer.ok) {
      // Only operations that return an entry appear in Results; the trailing `get` is the last one.
      const held = answer.results.at(-1)?.KV;
      if (!held || !isKvEntry(held)) {
        throw new ConsulRequestError('unexpected', 'acquire', ElectionMessages.noKeyEntry);
      }
      return { acquired: true, lockIndex: held.LockIndex, modifyIndex: held.ModifyIndex };
    }
    const failure = answer.errors[0];
    const what = failure?.What ?? 'transaction rolled back';
    if (failure?.OpIndex === 0) return { acquired: false, reason: 'changed', detail: what };
    if (/lock delay/i.test(what)) return { acquired: false, reason: 'lock-delay', detail: what };
    if (/invalid session|session .* (not found|invalid)/i.test(what)) {
      return { acquired: false, reason: 'session-invalid', detail: what };
    }
    return { acquired: false, reason: 'held', detail: what };
  }

  async release(request: ReleaseRequest, timeoutMs: number): Promise<boolean> {
    const answer = await this.transaction(
      'key release',
      [
        { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } },
        withValue('unlock', request),
      ],
      timeoutMs,
    );
    return answer.ok;
  }

  async rewriteHeld(request: ReleaseRequest, timeoutMs: number): Promise<number | null> {
    // Re-locking a key the session holds updates its value and keeps its LockIndex.
    const answer = await this.transaction(
      'value rewrite',
      [
        { KV: { Verb: 'check-session', Key: request.key, Session: request.sessionId } },
        { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } },
        withValue('lock', request),
        { KV: { Verb: 'get', Key: request.key } },
      ],
      timeoutMs,
    );
    const held = answer.ok ? answer.results.at(-1)?.KV : undefined;
    return held && isKvEntry(held) ? held.ModifyIndex : null;
  }

  async confirmHolding(key: string, sessionId: string, timeoutMs: number): Promise<boolean> {
    // A read-only transaction is answered by whichever server gets it, from its own state, unless it
    // asks for a consistent read: a deposed Raft leader could otherwise confirm from stale state.
    const answer = await this.transaction(
      'hold confirmation',
      [{ KV: { Verb: 'check-session', Key: key, Session: sessionId } }],
      timeoutMs,
      { consistent: true },
    );
    return answer.ok;
  }

  async registerService(service: CandidateService, timeoutMs: number): Promise<void> {
    const answer = await this.send('service register', timeoutMs, undefined, (options) =>
      this.client.agent.service.register({
        id: service.id,
        name: service.name,
        meta: service.meta,
        ...(service.check && {
          check: {
            checkid: service.check.id,
            name: service.check.name,
            ttl: toConsulDuration(service.check.ttlMs),
            status: 'passing',
            deregistercriticalserviceafter: toConsulDuration(
              service.check.deregisterCriticalServiceAfterMs,
            ),
          },
        }),
        ...options,
      } as never),
    );
    expect(answer, 'service register', 200);
  }

  async registerTtlCheck(check: TtlCheck, timeoutMs: number): Promise<void> {
    const answer = await this.send('check register', timeoutMs, undefined, (options) =>
      this.client.agent.check.register({
        id: check.id,
        name: check.name,
        serviceid: check.serviceId,
        ttl: toConsulDuration(check.ttlMs),
        status: 'passing',
        deregistercriticalserviceafter: toConsulDuration(check.deregisterCriticalServiceAfterMs),
        ...options,
      } as never),
    );
    expect(answer, 'check register', 200);
  }

  async readCandidates(serviceName: string, request: ReadKeyRequest): Promise<CandidatesRead> {
    const answer = await this.send(
      'candidates read',
      request.timeoutMs,
      request.signal,
      (options) =>
        this.client.health.service({
          service: serviceName,
          passing: true,
          ...blocking(request),
          ...options,
        } as never),
    );
    const entries = expect(answer, 'candidates read', 200, (body): body is RawServiceEntry[] =>
      Array.isArray(body),
    );
    const candidates = entries.flatMap((entry) => {
      const meta = entry.Service?.Meta;
      const instanceId = meta?.['instance-id'];
      if (!instanceId) return [];
      const leaderKey = meta?.['leader-key'] ?? null;
      return [{ instanceId, leaderKey, createIndex: entry.Service?.CreateIndex ?? 0 }];
    });
    return { candidates, index: answer.index };
  }

  async passCheck(checkId: string, timeoutMs: number): Promise<'passed' | 'not-found'> {
    const answer = await this.send('check update', timeoutMs, undefined, (options) =>
      this.client.agent.check.pass({ id: checkId, ...options } as never),
    );
    if (unknownToAgent(answer.status, bodyText(answer.body))) return 'not-found';
    expect(answer, 'check update', 200);
    return 'passed';
  }

  async deregisterService(serviceId: string, timeoutMs: number): Promise<void> {
    const answer = await this.send('service deregister', timeoutMs, undefined, (options) =>
      this.client.agent.service.deregister({ id: serviceId, ...options } as never),
    );
    if (answer.status === 404) return;
    expect(answer, 'service deregister', 200);
  }

  close(): void {
    this.agent.destroy();
  }

  /** A transaction; Consul rolls back one whose checks fail, answering 409 with the reasons. */
  private async transaction(
    operation: string,
    operations: unknown[],
    timeoutMs: number,
    query: { consistent?: boolean } = {},
  ): Promise<
    | { ok: true; results: NonNullable<TxnAnswer['Results']> }
    | { ok: false; errors: NonNullable<TxnAnswer['Errors']> }
  > {
    const answer = await this.send(operation, timeoutMs, undefined, (options) =>
      this.client.transaction.create(operations as never, { ...query, ...options } as never),
    );
    const isTxnAnswer = (body: unknown): body is TxnAnswer =>
      typeof body === 'object' && body !== null && ('Results' in body || 'Errors' in body);
    if (answer.status === 409) {
      const errors = expect(answer, operation, 409, isTxnAnswer).Errors ?? [];
      // ACLs deny inside a transaction with 409, not 403: report it as what it is.
      const denied = errors.find((error) => /permission denied|acl not found/i.test(error.What));
      if (denied) {
        throw new ConsulRequestError(
          'forbidden',
          operation,
          ElectionMessages.httpStatus(403, denied.What),
          403,
          denied.What,
        );
      }
      return { ok: false, errors };
    }
    return { ok: true, results: expect(answer, operation, 200, isTxnAnswer).Results ?? [] };
  }

  /**
   * Runs one client call and returns Consul's HTTP answer, whatever its status, or throws a
   * classified {@link ConsulRequestError} when there was none (network, timeout, abort).
   */
  private async send(
    operation: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    invoke: (options: RequestOptions) => Promise<unknown>,
  ): Promise<ConsulAnswer> {
    const ctx = cancellableContext(signal);
    let outcome: unknown;
    try {
      outcome = await invoke({ timeout: timeoutMs, ctx });
    } catch (error) {
      outcome = error;
    } finally {
      ctx.dispose();
    }
    const response = Array.isArray(outcome)
      ? outcome[0]
      : (outcome as { response?: unknown } | undefined)?.response;
    if (isHttpResponse(response)) {
      const index = Number(response.headers['x-consul-index'] ?? 0);
      const body = Array.isArray(outcome) ? outcome[1] : response.body;
      return { status: response.statusCode, index: Number.isFinite(index) ? index : 0, body };
    }
    throw classify(outcome, operation);
  }
}

/** The answer's body when its status is the expected one (and its shape, when a guard is given). */
function expect<T = unknown>(
  answer: ConsulAnswer,
  operation: string,
  status: number,
  guard?: (body: unknown) => body is T,
): T {
  if (answer.status !== status) throw statusError(answer.status, answer.body, operation);
  if (guard && !guard(answer.body)) {
    throw new ConsulRequestError(
      'unexpected',
      operation,
      ElectionMessages.unexpectedAnswer(bodyText(answer.body)),
      answer.status,
    );
  }
  return answer.body as T;
}

/** A transaction operation that writes the request's value under its session (`lock`, `unlock`). */
function withValue(
  verb: 'lock' | 'unlock',
  request: { key: string; sessionId: string; value: string },
): unknown {
  return {
    KV: {
      Verb: verb,
      Key: request.key,
      Value: Buffer.from(request.value).toString('base64'),
      Session: request.sessionId,
    },
  };
}

function blocking(request: ReadKeyRequest): Record<string, string> {
  return request.index
    ? { index: String(request.index), wait: toConsulDuration(request.waitMs ?? 60_000) }
    : {};
}

function isKvEntry(value: unknown): value is RawKvEntry {
  const entry = value as Partial<RawKvEntry> | null | undefined;
  return typeof entry?.LockIndex === 'number' && typeof entry.ModifyIndex === 'number';
}

function toKeyEntry(raw: RawKvEntry): KeyEntry {
  return {
    value: raw.Value ?? null,
    session: raw.Session || null,
    lockIndex: raw.LockIndex,
    modifyIndex: raw.ModifyIndex,
  };
}

/** The client cancels a request when its `ctx` emits `cancel`; this ties that to an AbortSignal. */
function cancellableContext(
  signal: AbortSignal | undefined,
): EventEmitter & { includeResponse: true; dispose: () => void } {
  const ctx = Object.assign(new EventEmitter(), {
    includeResponse: true as const,
    dispose: (): void => undefined,
  });
  if (!signal) return ctx;
  const cancel = (): void => {
    ctx.emit('cancel');
  };
  if (signal.aborted) queueMicrotask(cancel);
  else signal.addEventListener('abort', cancel, { once: true });
  ctx.dispose = () => signal.removeEventListener('abort', cancel);
  return ctx;
}
