// The composite fault `lease-chain` (issue 18, defect 1, as the fleet specs drive it): during a
// rolling deploy that shortens leaseDuration, the holder of the old, longer lease is cut off right
// after a hold confirmation (it acts for a whole lease it cannot confirm) and the key is deleted;
// a follower of the new, shorter lease takes the absent key and waits out the old lease. While it
// waits, a follower of the new options is restarted (as a deploy step would), so that all it ever
// learns of the old lease is what the waiting holder wrote into the key; then the waiting holder
// is cut off too and its session destroyed by an operator (or the key deleted). The restarted
// follower must still wait out the old holder's lease: a holder that wrote its own D instead
// (mutant lease-not-inherited) lets it act beside the old one. Drawn from a stream of its own,
// after every other, from the rolling deploys drawn before: `leaveOut: ["lease-chain"]` replays a
// seed found before it.
import type { Prng } from '../support/prng';
import type { Fault } from './simulation';

/** What one `lease-chain` fault does, drawn up front so that its run draws nothing more. */
export interface LeaseChainDetail {
  /** From the fault on, how long to look for a holder whose lease is longer than a follower's. */
  readonly lookMs: number;
  /** After the cut-off holder's confirmation, when the key is deleted. */
  readonly deleteAfterMs: number;
  /** Which follower of a shorter lease, of the first in line, is restarted (a fraction of their number). */
  readonly restartPick: number;
  /** How long after its restart the waiting holder is cut off (time for a read of the key). */
  readonly cutAfterMs: number;
  /** The waiting holder's session destroyed (the key kept, with its value), or the key deleted. */
  readonly destroy: boolean;
}

/** The share of rolling deploys that get a lease chain. */
const LEASE_CHAIN_SHARE = 0.8;

/** One lease chain for most rolling deploys, timed into the deploy. */
export function drawLeaseChains(
  random: Prng,
  deploys: readonly Fault[],
  faultPhaseMs: number,
  leaseMs: number,
): Fault[] {
  const chains: Fault[] = [];
  for (const deploy of deploys) {
    if (deploy.kind !== 'rolling-deploy') continue;
    const detail = deploy.detail as {
      order: readonly string[];
      gapMs: number;
      overlapMs: number | null;
    };
    const spanMs = detail.order.length * (detail.gapMs + (detail.overlapMs ?? 200));
    if (!random.chance(LEASE_CHAIN_SHARE)) continue;
    const at = Math.min(faultPhaseMs, deploy.at + random.between(0, spanMs / 2));
    const lease: LeaseChainDetail = {
      lookMs: spanMs,
      deleteAfterMs: random.between(0, 50),
      restartPick: random.next(),
      cutAfterMs: random.between(20, 300),
      destroy: random.chance(0.85),
    };
    chains.push({
      at,
      kind: 'lease-chain',
      durationMs: Math.max(0, Math.min(faultPhaseMs - at, spanMs + 4 * leaseMs + 1_000)),
      detail: { ...lease },
    });
  }
  return chains;
}
