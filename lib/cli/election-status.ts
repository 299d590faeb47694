import { decodeLeaderValue } from '../election/protocol/leader-value';
import { expect, send, type ConsulClient } from '../election/consul/node-consul-transport';

/** The check status Consul reports, or `missing` when the candidate's service has no such check. */
export type CheckStatus = 'passing' | 'warning' | 'critical' | 'missing';

/** One registered candidate of the key: an instance of its service, passing or not. */
export interface CandidateStatus {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly node: string | null;
  /** The candidate's own TTL check (`<serviceId>:alive`), updated by the app. */
  readonly check: CheckStatus;
  /** The node's `serfHealth`: critical when Consul thinks the node is gone. */
  readonly serfHealth: CheckStatus;
  /** Raft index of the registration: earlier registrations come first in the succession order. */
  readonly createIndex: number;
  /** Whether this candidate holds the key now. */
  readonly leading: boolean;
}

/** What `nestjs-consul-leader status <key>` reports: the key, its holder's session and the candidates. */
export interface ElectionStatus {
  readonly key: string;
  /** The service the candidates register as (`healthCheck.serviceName`). */
  readonly serviceName: string;
  /**
   * `held`: a session holds the key. `released`: the last holder released it with the "released"
   * marker (the next leader may act at once). `handed-back`: released without it (the next leader
   * waits out `leaseMs`). `vacant`: free with neither (the holder's session was invalidated: the
   * next leader waits out the lease, and Consul's lock-delay). `absent`: no key.
   */
  readonly state: 'held' | 'released' | 'handed-back' | 'vacant' | 'absent';
  /** Who holds the key, or held it last, as written into the value; null when not ours or absent. */
  readonly leader: {
    readonly instanceId: string;
    readonly since: string;
    readonly metadata: Readonly<Record<string, unknown>>;
  } | null;
  /** The fencing token: the token the holder wrote, else the key's ModifyIndex; null when absent. */
  readonly fencingToken: number | null;
  readonly session: {
    readonly id: string;
    readonly node: string | null;
    /** Lock-delay Consul applies to the key if this session is invalidated (not on a release). */
    readonly lockDelayMs: number | null;
    readonly ttl: string | null;
  } | null;
  readonly successors: readonly string[];
  readonly releasedAt: string | null;
  readonly handedBackAt: string | null;
  /** The lease a successor must wait out after an unmarked vacancy. */
  readonly leaseMs: number | null;
  readonly lockIndex: number | null;
  readonly modifyIndex: number | null;
  /** The key's candidates, in succession order (registration order). */
  readonly candidates: readonly CandidateStatus[];
}

interface RawKvEntry {
  Value?: string | null;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface RawSession {
  ID: string;
  Node?: string;
  LockDelay?: number;
  TTL?: string;
}

interface RawHealthEntry {
  Node?: { Node?: string };
  Service?: { ID?: string; Meta?: Record<string, string> | null; CreateIndex?: number };
  Checks?: Array<{ CheckID?: string; Status?: string }>;
}

const TIMEOUT_MS = 5_000;

/**
 * Reads the election on `key` as Consul has it now: the key (one consistent read), its holder's
 * session, and every registered candidate of `serviceName` with its checks, passing or not.
 * Throws a `ConsulRequestError` naming the request and Consul's answer when one fails.
 */
export async function readElectionStatus(
  client: ConsulClient,
  key: string,
  serviceName: string,
): Promise<ElectionStatus> {
  const keyAnswer = await send('key read', TIMEOUT_MS, undefined, (options) =>
    client.kv.get({ key, consistent: true, ...options } as never),
  );
  const entry =
    keyAnswer.status === 404
      ? null
      : expect(
          keyAnswer,
          'key read',
          200,
          (body): body is RawKvEntry =>
            typeof (body as Partial<RawKvEntry> | null)?.ModifyIndex === 'number',
        );
  // The client hands the value over decoded from Consul's base64.
  const value = decodeLeaderValue(entry?.Value ?? null);
  const sessionId = entry?.Session || null;
  const session = sessionId ? await readSession(client, sessionId) : null;
  const candidates = await readCandidates(client, key, serviceName, value?.instanceId, sessionId);
  return {
    key,
    serviceName,
    state: !entry
      ? 'absent'
      : sessionId
        ? 'held'
        : value?.releasedAt
          ? 'released'
          : value?.handedBackAt
            ? 'handed-back'
            : 'vacant',
    leader: value
      ? { instanceId: value.instanceId, since: value.since, metadata: value.metadata }
      : null,
    fencingToken: entry ? (value?.token ?? entry.ModifyIndex) : null,
    session: sessionId
      ? (session ?? { id: sessionId, node: null, lockDelayMs: null, ttl: null })
      : null,
    successors: value?.successors ?? [],
    releasedAt: value?.releasedAt ?? null,
    handedBackAt: value?.handedBackAt ?? null,
    leaseMs: value?.leaseMs ?? null,
    lockIndex: entry?.LockIndex ?? null,
    modifyIndex: entry?.ModifyIndex ?? null,
    candidates,
  };
}

async function readSession(
  client: ConsulClient,
  id: string,
): Promise<NonNullable<ElectionStatus['session']> | null> {
  const answer = await send('session info', TIMEOUT_MS, undefined, (options) =>
    client.session.info({ id, ...options } as never),
  );
  // The session may end between the key read and this one: the key is then already free.
  if (answer.status === 404) return null;
  // The client hands over the first session of Consul's list, or the list itself (empty: gone).
  const body = expect(answer, 'session info', 200);
  const found = (Array.isArray(body) ? body[0] : body) as RawSession | null | undefined;
  if (!found || typeof found.ID !== 'string') return null;
  return {
    id,
    node: found.Node ?? null,
    // Consul reports LockDelay in nanoseconds.
    lockDelayMs: typeof found.LockDelay === 'number' ? found.LockDelay / 1e6 : null,
    ttl: found.TTL || null,
  };
}

async function readCandidates(
  client: ConsulClient,
  key: string,
  serviceName: string,
  holder: string | undefined,
  sessionId: string | null,
): Promise<CandidateStatus[]> {
  const answer = await send('candidates read', TIMEOUT_MS, undefined, (options) =>
    client.health.service({ service: serviceName, ...options } as never),
  );
  const entries = expect(answer, 'candidates read', 200, (body): body is RawHealthEntry[] =>
    Array.isArray(body),
  );
  return entries
    .flatMap((entry): CandidateStatus[] => {
      const meta = entry.Service?.Meta ?? {};
      const serviceId = entry.Service?.ID ?? '';
      const instanceId = meta['instance-id'];
      // Two keys may share one serviceName: each candidate names its key.
      if (!instanceId || meta['leader-key'] !== key) return [];
      const status = (checkId: string): CheckStatus => {
        const found = entry.Checks?.find((check) => check.CheckID === checkId)?.Status;
        return found === 'passing' || found === 'warning' || found === 'critical'
          ? found
          : 'missing';
      };
      return [
        {
          instanceId,
          serviceId,
          node: entry.Node?.Node ?? null,
          check: status(`${serviceId}:alive`),
          serfHealth: status('serfHealth'),
          createIndex: entry.Service?.CreateIndex ?? 0,
          leading: sessionId !== null && instanceId === holder,
        },
      ];
    })
    .sort((a, b) => a.createIndex - b.createIndex);
}
