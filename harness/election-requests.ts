import type { RequestPattern } from './http-fault-proxy';

/*
 * The election's requests as they look on the wire (lib/election/consul/node-consul.port.ts), for the HTTP
 * fault proxy to hold back, refuse or count. Every hold change is a `PUT /v1/txn`; the verbs in its
 * body tell which one it is:
 * - acquire: a `check-index` or `check-not-exists`, then `lock`, then `get` (no `check-session`);
 * - successor-list rewrite: `check-session`, `check-index`, `lock`, `get`;
 * - release: `check-index`, then `unlock`;
 * - hold confirmation: a lone `check-session` (read-only).
 */

/** The `Verb`s of a transaction body, in order; [] when the body is not a transaction. */
export function txnVerbs(body: string): string[] {
  try {
    const operations = JSON.parse(body) as Array<{ KV?: { Verb?: unknown } }>;
    if (!Array.isArray(operations)) return [];
    return operations.flatMap((operation) =>
      typeof operation?.KV?.Verb === 'string' ? [operation.KV.Verb] : [],
    );
  } catch {
    return [];
  }
}

const txn = (test: (verbs: string[]) => boolean): RequestPattern => ({
  method: 'PUT',
  path: '/v1/txn',
  body: (body) => test(txnVerbs(body)),
});

export const ElectionRequests = {
  /** Any transaction (acquire, rewrite, release, confirmation). */
  anyTxn: { method: 'PUT', path: '/v1/txn' } satisfies RequestPattern,
  acquire: txn((verbs) => verbs.includes('lock') && !verbs.includes('check-session')),
  rewrite: txn((verbs) => verbs.includes('lock') && verbs.includes('check-session')),
  release: txn((verbs) => verbs.includes('unlock')),
  confirm: txn((verbs) => verbs.length === 1 && verbs[0] === 'check-session'),
  /** Transactions that write the key (acquire, rewrite, release): each one a Raft write. */
  keyWrite: txn((verbs) => verbs.includes('lock') || verbs.includes('unlock')),
} as const;
