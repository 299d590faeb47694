import type { ConsulTxnPort } from '../election/consul/consul-port';
import { decodeJobRecord, type JobRecord } from './job-record';

/** One job's record as listed, or why it could not be read. */
export interface ListedRecord {
  readonly record: JobRecord | null;
  readonly modifyIndex: number;
  /** Set when the value is not a record of this library (the record is then null). */
  readonly error?: string;
}

/**
 * Every job record under `<election key>/jobs/`, by job name, in one read (a read-only `get-tree`
 * transaction: any server answers it, no Raft write): `describe()` costs one request whatever the
 * number of jobs. A job never fired has no record, so no entry here.
 */
export async function listJobRecords(
  port: ConsulTxnPort,
  electionKey: string,
  timeoutMs: number,
): Promise<Map<string, ListedRecord>> {
  const prefix = `${electionKey}/jobs/`;
  const outcome = await port.transact([{ verb: 'get-tree', key: prefix }], timeoutMs);
  if (!outcome.ok) {
    const detail = outcome.errors.map((error) => error.what).join('; ');
    throw new Error(`Reading the job records under "${prefix}" failed: ${detail}`);
  }
  const listed = new Map<string, ListedRecord>();
  for (const entry of outcome.results) {
    const name = entry.key.slice(prefix.length);
    // A deeper key is not a job record of this library (names have no "/").
    if (!entry.key.startsWith(prefix) || name.length === 0 || name.includes('/')) continue;
    try {
      listed.set(name, {
        record: decodeJobRecord(entry.key, entry.value),
        modifyIndex: entry.modifyIndex,
      });
    } catch (error) {
      listed.set(name, { record: null, modifyIndex: entry.modifyIndex, error: String(error) });
    }
  }
  return listed;
}
