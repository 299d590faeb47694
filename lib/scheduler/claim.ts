import type { ConsulKeyPort, ConsulTxnPort, TxnOperation } from '../election/consul/consul-port';
import {
  decodeJobRecord,
  encodeJobRecord,
  tokenOf,
  withToken,
  type JobRecord,
  type JobRun,
  type ReadRecord,
} from './job-record';

// The writes of a job's record (docs/design/cluster-cron.md, "Claiming fire T"). Every decision
// about a fire (claim, skip, orphan) is one transaction: check-session on the election key, cas on
// the record at the index read, get. The outcome of a run is a cas alone.

export type SchedulerPort = ConsulKeyPort & ConsulTxnPort;

export interface RecordAccess {
  readonly port: SchedulerPort;
  readonly recordKey: string;
  readonly timeoutMs: number;
  /** Each transaction's send and receipt times (wall clock) and Consul's `Date`, for the clock offset. */
  readonly observe?: (sentWall: number, receivedWall: number, serverDate: number) => void;
  readonly wallNow: () => number;
}

/** The leader's side of a decision: its session must still hold the election key in Consul. */
export interface Decider {
  readonly electionKey: string;
  readonly sessionId: string;
}

export type WriteOutcome =
  | { readonly written: true; readonly modifyIndex: number; readonly record: JobRecord }
  /** `not-leader`: the session no longer holds the election key; `moved`: the record changed since it was read. */
  | { readonly written: false; readonly reason: 'not-leader' | 'moved'; readonly detail: string };

export async function readRecord(access: RecordAccess): Promise<ReadRecord> {
  const { entry } = await access.port.readKey(access.recordKey, { timeoutMs: access.timeoutMs });
  if (!entry) return { record: null, modifyIndex: 0 };
  return { record: decodeJobRecord(access.recordKey, entry.value), modifyIndex: entry.modifyIndex };
}

/**
 * Writes `next` only if the record is still as `read` (cas at its index; 0: absent) and, with a
 * decider, only while its session holds the election key. The answer's `get` gives the write's
 * index: for a claim, the fire's fencing token. A lost answer throws (the caller reads again).
 */
export async function writeRecord(
  access: RecordAccess,
  read: ReadRecord,
  next: JobRecord,
  decider: Decider | null,
): Promise<WriteOutcome> {
  const operations: TxnOperation[] = [
    ...(decider
      ? [{ verb: 'check-session' as const, key: decider.electionKey, sessionId: decider.sessionId }]
      : []),
    { verb: 'cas', key: access.recordKey, index: read.modifyIndex, value: encodeJobRecord(next) },
    { verb: 'get', key: access.recordKey },
  ];
  const sent = access.wallNow();
  const outcome = await access.port.transact(operations, access.timeoutMs);
  if (outcome.serverDate !== null) access.observe?.(sent, access.wallNow(), outcome.serverDate);
  if (outcome.ok) {
    const written = outcome.results.at(-1);
    if (!written || written.key !== access.recordKey) {
      throw new Error(`The transaction on "${access.recordKey}" answered no entry for its get`);
    }
    return { written: true, modifyIndex: written.modifyIndex, record: next };
  }
  const failure = outcome.errors[0];
  const detail = outcome.errors.map((error) => `#${error.opIndex}: ${error.what}`).join('; ');
  const sessionFailed = decider !== null && failure?.opIndex === 0;
  return { written: false, reason: sessionFailed ? 'not-leader' : 'moved', detail };
}

/** The record that claims `fireTime` (attempt `attempt`), deciding `skipped` fires in the same write. */
export function claimedRecord(
  read: ReadRecord,
  claim: { fireTime: number; attempt: number; owner: string; session: string; startedAt: number },
  skipped: { fireTimes: readonly number[]; by: string },
): JobRecord {
  const before = read.record;
  const lastSkipped = skipped.fireTimes.at(-1);
  return {
    decidedThrough: Math.max(before?.decidedThrough ?? 0, claim.fireTime, lastSkipped ?? 0),
    // No token: this write's own index is the token (job-record.ts, JobRun.token).
    run: { ...claim, state: 'running' },
    lastSkip:
      lastSkipped === undefined
        ? (before?.lastSkip ?? null)
        : { fireTime: lastSkipped, reason: 'misfire', by: skipped.by },
  };
}

/** The record that decides `fireTimes` as skipped for `reason`, keeping the run as it is. */
export function skippedRecord(
  read: ReadRecord,
  fireTimes: readonly number[],
  reason: 'overlap' | 'misfire',
  by: string,
): JobRecord {
  const before = withToken(read);
  const last = Math.max(...fireTimes);
  return {
    decidedThrough: Math.max(before?.decidedThrough ?? 0, last),
    run: before?.run ?? null,
    lastSkip: { fireTime: last, reason, by },
  };
}

/** The record with its run ended as `state`, or null when the run there is not the one of `token`. */
export function endedRecord(
  read: ReadRecord,
  token: number,
  end: { state: 'done' | 'failed' | 'orphaned'; endedAt: number; error?: string },
): JobRecord | null {
  const before = withToken(read);
  const run = before?.run;
  if (!before || !run || run.state !== 'running' || tokenOf(run, read.modifyIndex) !== token) {
    return null;
  }
  const ended: JobRun = { ...run, ...end };
  return { ...before, run: ended };
}

/**
 * Records how a run ended: read, and cas while the record still shows that run `running`. No
 * session check: the outcome is a fact about a claimed run, whoever leads now. False when the record
 * shows another run (a new claim, the run marked orphaned): nothing to record.
 */
export async function recordOutcome(
  access: RecordAccess,
  token: number,
  end: { state: 'done' | 'failed'; endedAt: number; error?: string },
): Promise<boolean> {
  for (let attempt = 0; attempt < OUTCOME_ATTEMPTS; attempt += 1) {
    const read = await readRecord(access);
    const next = endedRecord(read, token, end);
    if (!next) return false;
    const written = await writeRecord(access, read, next, null);
    if (written.written) return true;
  }
  throw new Error(
    `The outcome of run ${token} of "${access.recordKey}" lost ${OUTCOME_ATTEMPTS} races in a row`,
  );
}

/** A record that moves this often while one outcome is written is contended beyond reason. */
const OUTCOME_ATTEMPTS = 5;
