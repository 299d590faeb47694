import type { LeaderInfo } from '../state/leadership-state';

/**
 * What a holder writes into the key (see SAFETY.md for what each marker claims).
 */
export interface LeaderValue {
  readonly instanceId: string;
  readonly metadata: Record<string, unknown>;
  /** ISO wall-clock time of the acquire. */
  readonly since: string;
  /**
   * The "released" marker: set only by a holder that acted, stepped down and saw its leader work
   * finish before it released. It claims that nobody before it can still act, so a follower that
   * reads it may act at once.
   */
  readonly releasedAt?: string;
  /** The session whose hold the marker releases: binds it to that hold (takeover.ts, vacancyOf). */
  readonly releasedBy?: string;
  /** Released without that claim: the next holder skips lock-delay but waits out `leaseMs`. */
  readonly handedBackAt?: string;
  /**
   * The lease a successor must wait out after an unmarked vacancy: until the holder's term begins,
   * the longer of its own D and the lease it waits out itself; its own D once the term began
   * (SAFETY.md, rule 2: how a rolling change of `leaseDuration` stays safe, and where it does not).
   */
  readonly leaseMs?: number;
  /**
   * Set by the holder once its term began: its `leaseMs` is then its own D, and every lease before
   * it is over. Only such a value may shorten the lease a follower remembers; a holder before its
   * term may not have known the longer lease (it started, or came back, after the key was deleted).
   */
  readonly termBegan?: true;
  /** The holder's fencing token (the acquire's ModifyIndex), once it rewrote the key after acquiring. */
  readonly token?: number;
  /** The holder's succession order: who should take over, first to last (see succession.ts). */
  readonly successors?: readonly string[];
}

export function encodeLeaderValue(value: LeaderValue): string {
  return JSON.stringify(value);
}

/** Reads a key value written by this library; anything else yields an anonymous holder. */
export function decodeLeaderValue(raw: string | null): LeaderValue | null {
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<LeaderValue>;
    if (parsed && typeof parsed.instanceId === 'string') {
      return {
        instanceId: parsed.instanceId,
        metadata: parsed.metadata && typeof parsed.metadata === 'object' ? parsed.metadata : {},
        since: typeof parsed.since === 'string' ? parsed.since : new Date(0).toISOString(),
        ...(typeof parsed.releasedAt === 'string' ? { releasedAt: parsed.releasedAt } : {}),
        ...(typeof parsed.releasedBy === 'string' ? { releasedBy: parsed.releasedBy } : {}),
        ...(typeof parsed.handedBackAt === 'string' ? { handedBackAt: parsed.handedBackAt } : {}),
        ...(isPositiveNumber(parsed.leaseMs) ? { leaseMs: parsed.leaseMs } : {}),
        ...(parsed.termBegan === true ? { termBegan: true as const } : {}),
        ...(isPositiveNumber(parsed.token) ? { token: parsed.token } : {}),
        ...(Array.isArray(parsed.successors)
          ? { successors: parsed.successors.filter((id): id is string => typeof id === 'string') }
          : {}),
      };
    }
  } catch {
    // Not ours: a value written by another tool. Treated as an unknown holder.
  }
  return null;
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

export function toLeaderInfo(value: LeaderValue | null, fencingToken: number): LeaderInfo {
  return {
    instanceId: value?.instanceId ?? 'unknown',
    metadata: value?.metadata ?? {},
    since: new Date(value?.since ?? 0),
    fencingToken,
  };
}
