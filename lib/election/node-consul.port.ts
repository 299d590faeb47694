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
  TtlCheck,
} from './consul-port';
import { ConsulRequestError } from './consul-request.error';
import { toConsulDuration } from './duration';
import type { ResolvedElectionOptions } from './election-options';

type ConsulClient = InstanceType<typeof Consul>;

interface RawKvEntry {
  Key: string;
  Value?: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface RawServiceEntry {
  Service: { ID: string; Meta?: Record<string, string> | null; CreateIndex?: number };
}

interface TxnAnswer {
  Results?: Array<{ KV?: RawKvEntry }> | null;
  Errors?: Array<{ OpIndex: number; What: string }> | null;
}

interface PapiLikeError extends Error {
  isResponse?: boolean;
  isTimeout?: boolean;
  isAbort?: boolean;
  code?: string;
  response?: { statusCode: number; body?: unknown };
}

/**
 * {@link ConsulPort} on the `consul` npm client (v2), over one keep-alive agent so that a renewal
 * costs a request, not a TCP handshake.
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
  }

  async readKey(key: string, request: ReadKeyRequest): Promise<KeyRead> {
    const ctx = cancellableContext(request.signal);
    try {
      const [response, entry] = (await this.client.kv.get({
        key,
        ...(request.index
          ? { index: String(request.index), wait: toConsulDuration(request.waitMs ?? 60_000) }
          : {}),
        timeout: request.timeoutMs,
        ctx,
      } as never)) as unknown as [{ headers: Record<string, string> }, RawKvEntry | undefined];
      const index = Number(response.headers['x-consul-index'] ?? 0);
      return { entry: entry ? toKeyEntry(entry) : null, index: Number.isFinite(index) ? index : 0 };
    } catch (error) {
      throw classify(error, 'key read');
    } finally {
      ctx.dispose();
    }
  }

  async createSession(session: NewSession, timeoutMs: number): Promise<string> {
    try {
      const created = (await this.client.session.create({
        name: session.name,
        ttl: toConsulDuration(session.ttlMs),
        lockdelay: toConsulDuration(session.lockDelayMs),
        checks: ['serfHealth', ...session.checks],
        behavior: 'release',
        timeout: timeoutMs,
      } as never)) as { ID: string };
      return created.ID;
    } catch (error) {
      throw classify(error, 'session create');
    }
  }

  async renewSession(sessionId: string, timeoutMs: number): Promise<'renewed' | 'not-found'> {
    try {
      await this.client.session.renew({ id: sessionId, timeout: timeoutMs } as never);
      return 'renewed';
    } catch (error) {
      if (statusOf(error) === 404) return 'not-found';
      throw classify(error, 'session renew');
    }
  }

  async destroySession(sessionId: string, timeoutMs: number): Promise<void> {
    try {
      await this.client.session.destroy({ id: sessionId, timeout: timeoutMs } as never);
    } catch (error) {
      throw classify(error, 'session destroy');
    }
  }

  async acquire(request: AcquireRequest, timeoutMs: number): Promise<AcquireResult> {
    const precondition =
      request.expectedModifyIndex > 0
        ? { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } }
        : { KV: { Verb: 'check-not-exists', Key: request.key } };
    const operations = [
      precondition,
      {
        KV: {
          Verb: 'lock',
          Key: request.key,
          Value: Buffer.from(request.value).toString('base64'),
          Session: request.sessionId,
        },
      },
      { KV: { Verb: 'get', Key: request.key } },
    ];
    const answer = await this.transaction(operations, timeoutMs, 'acquire');
    if (answer.ok) {
      // Only operations that return an entry appear in Results; the trailing `get` is the last one.
      const held = answer.results.at(-1)?.KV;
      if (!held)
        throw new ConsulRequestError('unexpected', 'acquire', 'transaction returned no key entry');
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

  async release(
    key: string,
    sessionId: string,
    value: string,
    timeoutMs: number,
  ): Promise<boolean> {
    try {
      return Boolean(
        await this.client.kv.set({ key, value, release: sessionId, timeout: timeoutMs } as never),
      );
    } catch (error) {
      throw classify(error, 'key release');
    }
  }

  async confirmHolding(key: string, sessionId: string, timeoutMs: number): Promise<boolean> {
    const answer = await this.transaction(
      [{ KV: { Verb: 'check-session', Key: key, Session: sessionId } }],
      timeoutMs,
      'hold confirmation',
    );
    return answer.ok;
  }

  async registerService(service: CandidateService, timeoutMs: number): Promise<void> {
    try {
      await this.client.agent.service.register({
        id: service.id,
        name: service.name,
        meta: service.meta,
        timeout: timeoutMs,
      } as never);
    } catch (error) {
      throw classify(error, 'service register');
    }
  }

  async registerTtlCheck(check: TtlCheck, timeoutMs: number): Promise<void> {
    try {
      await this.client.agent.check.register({
        id: check.id,
        name: check.name,
        serviceid: check.serviceId,
        ttl: toConsulDuration(check.ttlMs),
        status: 'passing',
        deregistercriticalserviceafter: toConsulDuration(check.deregisterCriticalServiceAfterMs),
        timeout: timeoutMs,
      } as never);
    } catch (error) {
      throw classify(error, 'check register');
    }
  }

  async readCandidates(serviceName: string, request: ReadKeyRequest): Promise<CandidatesRead> {
    const ctx = cancellableContext(request.signal);
    try {
      const [response, entries] = (await this.client.health.service({
        service: serviceName,
        passing: true,
        ...(request.index
          ? { index: String(request.index), wait: toConsulDuration(request.waitMs ?? 60_000) }
          : {}),
        timeout: request.timeoutMs,
        ctx,
      } as never)) as unknown as [
        { headers: Record<string, string> },
        RawServiceEntry[] | undefined,
      ];
      const index = Number(response.headers['x-consul-index'] ?? 0);
      const candidates = (entries ?? []).flatMap((entry) => {
        const instanceId = entry.Service?.Meta?.['instance-id'];
        return instanceId ? [{ instanceId, createIndex: entry.Service.CreateIndex ?? 0 }] : [];
      });
      return { candidates, index: Number.isFinite(index) ? index : 0 };
    } catch (error) {
      throw classify(error, 'candidates read');
    } finally {
      ctx.dispose();
    }
  }

  async passCheck(checkId: string, timeoutMs: number): Promise<'passed' | 'not-found'> {
    try {
      await this.client.agent.check.pass({ id: checkId, timeout: timeoutMs } as never);
      return 'passed';
    } catch (error) {
      // An unknown check answers 404 on recent agents and 500 "does not have associated TTL" / "Unknown check" on older ones.
      const status = statusOf(error);
      if (
        status === 404 ||
        (status === 500 && /unknown check|not found|does not have/i.test(bodyOf(error)))
      ) {
        return 'not-found';
      }
      throw classify(error, 'check update');
    }
  }

  async deregisterService(serviceId: string, timeoutMs: number): Promise<void> {
    try {
      await this.client.agent.service.deregister({ id: serviceId, timeout: timeoutMs } as never);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw classify(error, 'service deregister');
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private async transaction(
    operations: unknown[],
    timeoutMs: number,
    operation: string,
  ): Promise<
    | { ok: true; results: NonNullable<TxnAnswer['Results']> }
    | { ok: false; errors: NonNullable<TxnAnswer['Errors']> }
  > {
    try {
      const answer = (await this.client.transaction.create(
        operations as never,
        { timeout: timeoutMs } as never,
      )) as TxnAnswer;
      return { ok: true, results: answer.Results ?? [] };
    } catch (error) {
      // A transaction whose checks fail is rolled back with 409 and the reasons in Errors.
      if (statusOf(error) === 409) {
        const body = (error as PapiLikeError).response?.body as TxnAnswer | undefined;
        return { ok: false, errors: body?.Errors ?? [] };
      }
      throw classify(error, operation);
    }
  }
}

function toKeyEntry(raw: RawKvEntry): KeyEntry {
  return {
    value: raw.Value ?? null,
    session: raw.Session || null,
    lockIndex: raw.LockIndex,
    modifyIndex: raw.ModifyIndex,
  };
}

function statusOf(error: unknown): number | undefined {
  const response = (error as PapiLikeError | undefined)?.response;
  return typeof response?.statusCode === 'number' ? response.statusCode : undefined;
}

function bodyOf(error: unknown): string {
  const body = (error as PapiLikeError | undefined)?.response?.body;
  if (body === undefined || body === null) return '';
  return Buffer.isBuffer(body)
    ? body.toString('utf8')
    : typeof body === 'string'
      ? body
      : JSON.stringify(body);
}

/** Maps the client's errors onto the kinds the election reacts to. */
export function classify(error: unknown, operation: string): ConsulRequestError {
  if (error instanceof ConsulRequestError) return error;
  const failure = error as PapiLikeError;
  const status = statusOf(error);
  const body = bodyOf(error).trim().slice(0, 500);
  if (status !== undefined) {
    const detail = `HTTP ${status}${body ? `: ${body}` : ''}`;
    if (status === 403)
      return new ConsulRequestError('forbidden', operation, detail, status, body, { cause: error });
    if (status >= 500)
      return new ConsulRequestError('server-error', operation, detail, status, body, {
        cause: error,
      });
    return new ConsulRequestError('unexpected', operation, detail, status, body, { cause: error });
  }
  if (failure?.isTimeout || /timed? ?out/i.test(failure?.message ?? '')) {
    return new ConsulRequestError('timeout', operation, failure.message, undefined, undefined, {
      cause: error,
    });
  }
  const code = failure?.code ?? (failure?.cause as { code?: string } | undefined)?.code;
  return new ConsulRequestError(
    'unreachable',
    operation,
    `${failure?.message ?? String(error)}${code ? ` (${code})` : ''}`,
    undefined,
    undefined,
    {
      cause: error,
    },
  );
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
