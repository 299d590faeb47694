import type { LeaderInfo } from './leadership-state';

/**
 * What a holder writes into the key. `releasedAt` is set only by a holder that stepped down before
 * it released: a follower that reads it may act at once, without waiting out the old lease.
 */
export interface LeaderValue {
  readonly instanceId: string;
  readonly metadata: Record<string, unknown>;
  /** ISO wall-clock time of the acquire. */
  readonly since: string;
  readonly releasedAt?: string;
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

export function toLeaderInfo(value: LeaderValue | null, fencingToken: number): LeaderInfo {
  return {
    instanceId: value?.instanceId ?? 'unknown',
    metadata: value?.metadata ?? {},
    since: new Date(value?.since ?? 0),
    fencingToken,
  };
}
