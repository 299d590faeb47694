import type { KeyEntry } from '../../election/consul/consul-port';
import { decodeLeaderValue } from '../../election/protocol/leader-value';
import { vacancyOf } from '../../election/protocol/takeover';
import { assignJobs, pairWeight, takeoverOrder } from './assignment';
import type { OwnerHold } from './owner-hold';

// The two decisions of the ownership loop, as pure functions of what one owners read showed
// (docs/design/job-spread.md): when this instance may try to take a free owner key, and which of
// its jobs it hands over.

export interface TurnInput {
  readonly job: string;
  /** The free entry (no session), or null for an absent key. */
  readonly entry: KeyEntry | null;
  readonly jobs: readonly string[];
  readonly members: readonly string[];
  /** Who holds the other jobs' keys (by instance id). */
  readonly owners: ReadonlyMap<string, string>;
  readonly instanceId: string;
  /** When this free entry was first seen (monotonic). */
  readonly seenAt: number;
  readonly lockDelayMs: number;
  readonly successionStepMs: number;
}

export interface Turn {
  /** Monotonic time from which this instance may try the acquire. */
  readonly tryAt: number;
  /** The instance whose turn came first, when it is not this one (taking it is out of turn). */
  readonly passedOver?: string;
}

/** When this instance's turn to take the free key comes: its rank in the job's takeover order. */
export function turnToTake(input: TurnInput): Turn {
  const previous = decodeLeaderValue(input.entry?.value ?? null)?.instanceId ?? null;
  const vacancy = vacancyOf(input.entry);
  // A holder whose session was invalidated is gone, whatever the catalog still says; one that
  // released the key is alive, and keeps its share.
  const eligible =
    vacancy === 'invalidated' ? input.members.filter((id) => id !== previous) : input.members;
  const order = takeoverOrder(input.job, input.jobs, eligible, input.owners, previous);
  const rank = order.includes(input.instanceId) ? order.indexOf(input.instanceId) : order.length;
  // A key freed by an invalidation cannot be taken before its lock-delay ends; the ranks count
  // from then, or rank 1 would try while rank 0's acquire is refused.
  const opensAt = input.seenAt + (vacancy === 'invalidated' ? input.lockDelayMs : 0);
  return {
    tryAt: opensAt + rank * input.successionStepMs,
    ...(rank > 0 && order[0] ? { passedOver: order[0] } : {}),
  };
}

/**
 * The job to hand over, if any: one this instance owns but the assignment gives to another, with
 * the lowest weight here; none while another handover is on its way (one at a time), and none to
 * an instance that let the job pass last time, before a back-off that doubles per pass (a listed
 * instance that never takes keys would otherwise make its jobs ping-pong).
 */
export function nextHandover(input: {
  readonly holds: readonly OwnerHold[];
  readonly members: readonly string[];
  readonly jobs: readonly string[];
  readonly owners: ReadonlyMap<string, string>;
  readonly instanceId: string;
  readonly now: number;
  readonly settleMs: number;
}): OwnerHold | null {
  const { holds, instanceId } = input;
  if (!input.members.includes(instanceId)) return null;
  if (holds.some((hold) => hold.phase === 'handing-over')) return null;
  const target = assignJobs(input.members, input.jobs, input.owners);
  const leaving = holds
    .filter((hold) => target.get(hold.job) !== instanceId)
    .filter((hold) => {
      const skipped = hold.passedOver;
      if (!skipped || skipped.by !== target.get(hold.job)) return true;
      return input.now - skipped.at >= input.settleMs * 2 ** Math.min(skipped.passes, 8);
    })
    .sort((a, b) => pairWeight(a.job, instanceId) - pairWeight(b.job, instanceId));
  return leaving[0] ?? null;
}
