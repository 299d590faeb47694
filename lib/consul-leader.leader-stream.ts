import { distinctUntilChanged, map, type Observable } from 'rxjs';
import type { LeaderInfo, LeadershipState } from './election';

/**
 * `leader$` from the state stream: the leader, `null` when nobody leads, `undefined` when this
 * instance does not know (`leaderKnown` false); a new value only when the holder or its term changes.
 */
export function leaderStreamOf(
  state$: Observable<LeadershipState>,
): Observable<LeaderInfo | null | undefined> {
  return state$.pipe(
    map((state) => (state.leaderKnown ? state.leader : undefined)),
    distinctUntilChanged(
      (previous, current) =>
        previous === current ||
        (!!previous &&
          !!current &&
          previous.instanceId === current.instanceId &&
          previous.fencingToken === current.fencingToken),
    ),
  );
}
