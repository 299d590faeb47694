/**
 * What Consul keeps of one job, at `<election key>/jobs/<name>` (docs/design/cluster-cron.md, "The
 * record"): how far its fires are decided, and its latest claimed run.
 */
export interface JobRecord {
  /** The latest fire time (ms since epoch) decided, run or skipped: no fire ≤ it is claimed again. */
  readonly decidedThrough: number;
  /** The latest claimed run; null before the first claim. */
  readonly run: JobRun | null;
  /** The latest skipped fire, with why. */
  readonly lastSkip: SkippedFire | null;
}

export type RunState = 'running' | 'done' | 'failed' | 'orphaned';

export interface JobRun {
  readonly fireTime: number;
  readonly owner: string;
  /** The election session it was claimed on: when Consul forgets it, a `running` run is orphaned. */
  readonly session: string;
  readonly state: RunState;
  /** 1 for the fire's first claim; an orphan's opt-in re-run claims the same fire with the next. */
  readonly attempt: number;
  /** Wall-clock ms on the owner's clock. */
  readonly startedAt: number;
  readonly endedAt?: number;
  /**
   * The fencing token: the ModifyIndex of the claim's write. Absent only in the claim itself (a
   * write cannot carry its own index); then the record's ModifyIndex is the token, since every
   * later write fills it in ({@link withToken}).
   */
  readonly token?: number;
  /** The failure's message, for `failed`. */
  readonly error?: string;
}

export type SkipReason = 'overlap' | 'misfire';

export interface SkippedFire {
  readonly fireTime: number;
  readonly reason: SkipReason;
  /** The instance that decided the skip. */
  readonly by: string;
}

/** The record as read, with the index every conditioned write of it must name. */
export interface ReadRecord {
  /** Null when the job has no record yet. */
  readonly record: JobRecord | null;
  /** The key's ModifyIndex; 0 when the record does not exist yet (a `cas` at 0 creates it). */
  readonly modifyIndex: number;
}

export const RECORD_VERSION = 1;

/**
 * The key of a job's record. Names are the job's identity in Consul, so they are kept to what every
 * Consul version accepts in a key segment (1.21.5 and later validate key names).
 */
export function jobRecordKey(electionKey: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new Error(
      `Job name "${name}" cannot name a Consul key: use letters, digits, ".", "_" and "-".`,
    );
  }
  return `${electionKey}/jobs/${name}`;
}

export function encodeJobRecord(record: JobRecord): string {
  return JSON.stringify({ v: RECORD_VERSION, ...record });
}

/**
 * Reads a record written by this library. Throws on anything else, naming the key: a record that
 * cannot be read must stop the job's claims, not be overwritten as if the job had never run.
 */
export function decodeJobRecord(key: string, raw: string | null): JobRecord {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw ?? '') as Record<string, unknown>;
  } catch {
    throw new JobRecordError(key, 'not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new JobRecordError(key, 'not an object');
  if (parsed.v !== RECORD_VERSION)
    throw new JobRecordError(key, `version ${String(parsed.v)}, expected ${RECORD_VERSION}`);
  if (!isTime(parsed.decidedThrough)) throw new JobRecordError(key, 'no decidedThrough');
  return {
    decidedThrough: parsed.decidedThrough,
    run: parsed.run == null ? null : decodeRun(key, parsed.run),
    lastSkip: parsed.lastSkip == null ? null : decodeSkip(key, parsed.lastSkip),
  };
}

/** The run's token, from the record as read at `modifyIndex`. */
export function tokenOf(run: JobRun, modifyIndex: number): number {
  return run.token ?? modifyIndex;
}

/**
 * The record with its run's token written in: every write after a claim goes through here, so the
 * claim stays the only write that leaves it out (and a record's index is the token exactly then).
 */
export function withToken(read: ReadRecord): JobRecord | null {
  const { record, modifyIndex } = read;
  if (!record?.run || record.run.token !== undefined) return record;
  return { ...record, run: { ...record.run, token: modifyIndex } };
}

export class JobRecordError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`The job record at "${key}" cannot be read (${problem}): not written by this library?`);
    this.name = 'JobRecordError';
  }
}

const RUN_STATES: ReadonlySet<string> = new Set(['running', 'done', 'failed', 'orphaned']);
const SKIP_REASONS: ReadonlySet<string> = new Set(['overlap', 'misfire']);

function decodeRun(key: string, value: unknown): JobRun {
  const run = value as Partial<Record<keyof JobRun, unknown>>;
  if (
    !isTime(run.fireTime) ||
    typeof run.owner !== 'string' ||
    typeof run.session !== 'string' ||
    typeof run.state !== 'string' ||
    !RUN_STATES.has(run.state) ||
    !isTime(run.attempt) ||
    !isTime(run.startedAt)
  ) {
    throw new JobRecordError(key, `run ${JSON.stringify(value)}`);
  }
  return {
    fireTime: run.fireTime,
    owner: run.owner,
    session: run.session,
    state: run.state as RunState,
    attempt: run.attempt,
    startedAt: run.startedAt,
    ...(isTime(run.endedAt) ? { endedAt: run.endedAt } : {}),
    ...(isTime(run.token) ? { token: run.token } : {}),
    ...(typeof run.error === 'string' ? { error: run.error } : {}),
  };
}

function decodeSkip(key: string, value: unknown): SkippedFire {
  const skip = value as Partial<Record<keyof SkippedFire, unknown>>;
  if (
    !isTime(skip.fireTime) ||
    typeof skip.reason !== 'string' ||
    !SKIP_REASONS.has(skip.reason) ||
    typeof skip.by !== 'string'
  ) {
    throw new JobRecordError(key, `lastSkip ${JSON.stringify(value)}`);
  }
  return { fireTime: skip.fireTime, reason: skip.reason as SkipReason, by: skip.by };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
