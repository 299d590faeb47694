import type { HoldHost } from './hold-host';
import type { Holding, StepDownReason } from './holding';
import { ElectionMessages } from '../election.messages';
import type { Observation } from '../watch/key-watch';
import { toLeaderInfo, type LeaderValue } from './leader-value';
import { vacancyOf } from './takeover';

/**
 * The hold's view of a read of the key (SAFETY.md rules 3 and 4): who leads, the index a release is
 * conditioned on, and whether the key is lost — a read older than our acquire knows nothing of it.
 */
export function viewOfRead(
  host: HoldHost,
  holding: Holding | null,
  observation: Observation,
  holderValue: LeaderValue | null,
  stepDown: (reason: StepDownReason) => void,
): void {
  const { entry } = observation;
  // A read older than our acquire knows nothing of it: it neither names the leader nor unseats us.
  const current = !holding || observation.index >= holding.acquiredIndex;
  const ours = !!holding && entry?.session === holding.session.id;
  if (current) {
    const leader = !entry?.session
      ? null
      : ours
        ? toLeaderInfo(holding.value, holding.fencingToken)
        : toLeaderInfo(holderValue, holderValue?.token ?? entry.modifyIndex);
    host.leader.read(leader);
  }
  if (holding && current && ours && entry.modifyIndex > holding.acquiredIndex) {
    // Written under our session by someone else (an operator's PUT), or our own rewrite whose
    // answer was lost: the release must be conditioned on what is there now.
    holding.acquiredIndex = entry.modifyIndex;
    // Our own rewrite whose answer was lost: the hold takes it as its value. Someone else's value
    // under our session: ours is written back. A follower that first sees the hold after it learns
    // the term's token only from our value, and on LockIndex 0 it trusts our release's marker only
    // when it names that token (SAFETY.md, rule 3); it also shows followers who leads again.
    host.successors.found(holding, holderValue, entry.modifyIndex);
  }
  if (holding && current && !ours) {
    if (
      entry &&
      !entry.session &&
      holderValue?.instanceId === host.instanceId &&
      vacancyOf(entry, observation.heldBefore) === 'invalidated'
    ) {
      // Consul freed the key itself and kept our value: it invalidated our session (destroyed,
      // or its check or TTL ran out). Say so, and open a new one now rather than at the next
      // renewal; destroying it is a no-op for a session that is gone.
      host.port
        .destroySession(holding.session.id, host.options.requestTimeoutMs)
        .catch(() => undefined);
      host.onSessionLost(holding.session);
    } else {
      host.logger.warn(ElectionMessages.keyLost(host.options.key));
      stepDown('lost');
    }
  }
}
