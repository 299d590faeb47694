import type { TxnEntry, TxnOperation, TxnOutcome } from './consul-port';
import { ConsulRequestError } from './consul-request.error';
import { ElectionMessages } from '../election.messages';
import { expect, send, type ConsulClient } from './node-consul-transport';

// The scheduler's calls of NodeConsulPort: multi-operation KV transactions and session lookups.

interface RawTxnKv {
  Key: string;
  Value?: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface RawTxnAnswer {
  Results?: Array<{ KV?: RawTxnKv }> | null;
  Errors?: Array<{ OpIndex: number; What: string }> | null;
}

/** Consul's limit on operations in one transaction (older servers; newer ones allow 128). */
export const MAX_TXN_OPERATIONS = 64;

export async function transact(
  client: ConsulClient,
  operations: readonly TxnOperation[],
  timeoutMs: number,
): Promise<TxnOutcome> {
  if (operations.length === 0 || operations.length > MAX_TXN_OPERATIONS) {
    throw new ConsulRequestError(
      'unexpected',
      'transaction',
      ElectionMessages.unexpectedAnswer(
        `${operations.length} operations; a transaction takes 1 to ${MAX_TXN_OPERATIONS}`,
      ),
    );
  }
  const answer = await send('transaction', timeoutMs, undefined, (options) =>
    client.transaction.create(operations.map(toRawOperation) as never, options as never),
  );
  const serverDate = answer.date ?? null;
  if (answer.status === 409) {
    const errors = expect(answer, 'transaction', 409, isTxnAnswer).Errors ?? [];
    // ACLs deny inside a transaction with 409, not 403: report it as what it is.
    const denied = errors.find((error) => /permission denied|acl not found/i.test(error.What));
    if (denied) {
      throw new ConsulRequestError(
        'forbidden',
        'transaction',
        ElectionMessages.httpStatus(403, denied.What),
        403,
        denied.What,
      );
    }
    return {
      ok: false,
      errors: errors.map((error) => ({ opIndex: error.OpIndex, what: error.What })),
      serverDate,
    };
  }
  const results = expect(answer, 'transaction', 200, isTxnAnswer).Results ?? [];
  return { ok: true, results: results.map((result) => toTxnEntry(result.KV)), serverDate };
}

export async function sessionAlive(
  client: ConsulClient,
  sessionId: string,
  timeoutMs: number,
): Promise<boolean> {
  const answer = await send('session info', timeoutMs, undefined, (options) =>
    client.session.info({ id: sessionId, ...options } as never),
  );
  // 200 either way: the session's entry when Consul knows it, nothing (the client's bodyItem of
  // an empty or null list) when it does not.
  const body = expect(answer, 'session info', 200) as { ID?: unknown } | null | undefined;
  return typeof body?.ID === 'string';
}

export async function readTree(
  client: ConsulClient,
  prefix: string,
  timeoutMs: number,
): Promise<readonly TxnEntry[]> {
  // Consistent, as the hold's confirmation (node-consul-keys.ts): a read-only transaction is
  // otherwise answered by whichever server gets it, from its own, possibly stale, state.
  const answer = await send('tree read', timeoutMs, undefined, (options) =>
    client.transaction.create(
      [{ KV: { Verb: 'get-tree', Key: prefix } }] as never,
      { consistent: true, ...options } as never,
    ),
  );
  const results = expect(answer, 'tree read', 200, isTxnAnswer).Results ?? [];
  return results.map((result) => toTxnEntry(result.KV));
}

function toRawOperation(operation: TxnOperation): { KV: Record<string, unknown> } {
  switch (operation.verb) {
    case 'check-session':
      return { KV: { Verb: operation.verb, Key: operation.key, Session: operation.sessionId } };
    case 'check-index':
      return { KV: { Verb: operation.verb, Key: operation.key, Index: operation.index } };
    case 'cas':
      return {
        KV: {
          Verb: operation.verb,
          Key: operation.key,
          Index: operation.index,
          Value: base64(operation.value),
        },
      };
    case 'set':
      return { KV: { Verb: operation.verb, Key: operation.key, Value: base64(operation.value) } };
    case 'get':
    case 'get-tree':
      return { KV: { Verb: operation.verb, Key: operation.key } };
  }
}

function isTxnAnswer(body: unknown): body is RawTxnAnswer {
  return typeof body === 'object' && body !== null && ('Results' in body || 'Errors' in body);
}

function toTxnEntry(raw: RawTxnKv | undefined): TxnEntry {
  if (typeof raw?.Key !== 'string' || typeof raw.ModifyIndex !== 'number') {
    throw new ConsulRequestError('unexpected', 'transaction', ElectionMessages.noKeyEntry);
  }
  return {
    key: raw.Key,
    // A transaction's values are base64 (the client decodes only `kv.get`'s).
    value: typeof raw.Value === 'string' ? Buffer.from(raw.Value, 'base64').toString() : null,
    session: raw.Session || null,
    lockIndex: raw.LockIndex,
    modifyIndex: raw.ModifyIndex,
  };
}

function base64(value: string): string {
  return Buffer.from(value).toString('base64');
}
