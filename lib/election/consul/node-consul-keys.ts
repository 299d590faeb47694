import type {
  AcquireRequest,
  AcquireResult,
  KeyEntry,
  KeyRead,
  ReadKeyRequest,
  ReleaseRequest,
} from './consul-port';
import { ConsulRequestError } from './consul-request.error';
import { ElectionMessages } from '../election.messages';
import { blocking, expect, send, type ConsulClient } from './node-consul-transport';

// The key operations of NodeConsulPort: reads, and the conditioned writes as KV transactions.

interface RawKvEntry {
  Key: string;
  Value?: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface TxnAnswer {
  Results?: Array<{ KV?: RawKvEntry }> | null;
  Errors?: Array<{ OpIndex: number; What: string }> | null;
}

export async function readKey(
  client: ConsulClient,
  key: string,
  request: ReadKeyRequest,
): Promise<KeyRead> {
  const answer = await send('key read', request.timeoutMs, request.signal, (options) =>
    client.kv.get({ key, ...blocking(request), ...options } as never),
  );
  if (answer.status === 404) return { entry: null, index: answer.index };
  const raw = expect(answer, 'key read', 200, isKvEntry);
  return { entry: toKeyEntry(raw), index: answer.index };
}

export async function acquire(
  client: ConsulClient,
  request: AcquireRequest,
  timeoutMs: number,
): Promise<AcquireResult> {
  const precondition =
    request.expectedModifyIndex > 0
      ? { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } }
      : { KV: { Verb: 'check-not-exists', Key: request.key } };
  const answer = await transaction(
    client,
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

export async function release(
  client: ConsulClient,
  request: ReleaseRequest,
  timeoutMs: number,
): Promise<boolean> {
  const answer = await transaction(
    client,
    'key release',
    [
      { KV: { Verb: 'check-index', Key: request.key, Index: request.expectedModifyIndex } },
      withValue('unlock', request),
    ],
    timeoutMs,
  );
  return answer.ok;
}

export async function rewriteHeld(
  client: ConsulClient,
  request: ReleaseRequest,
  timeoutMs: number,
): Promise<number | null> {
  // Re-locking a key the session holds updates its value and keeps its LockIndex.
  const answer = await transaction(
    client,
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

export async function confirmHolding(
  client: ConsulClient,
  key: string,
  sessionId: string,
  timeoutMs: number,
): Promise<boolean> {
  // A read-only transaction is answered by whichever server gets it, from its own state, unless it
  // asks for a consistent read: a deposed Raft leader could otherwise confirm from stale state.
  const answer = await transaction(
    client,
    'hold confirmation',
    [{ KV: { Verb: 'check-session', Key: key, Session: sessionId } }],
    timeoutMs,
    { consistent: true },
  );
  return answer.ok;
}

/** A transaction; Consul rolls back one whose checks fail, answering 409 with the reasons. */
async function transaction(
  client: ConsulClient,
  operation: string,
  operations: unknown[],
  timeoutMs: number,
  query: { consistent?: boolean } = {},
): Promise<
  | { ok: true; results: NonNullable<TxnAnswer['Results']> }
  | { ok: false; errors: NonNullable<TxnAnswer['Errors']> }
> {
  const answer = await send(operation, timeoutMs, undefined, (options) =>
    client.transaction.create(operations as never, { ...query, ...options } as never),
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
