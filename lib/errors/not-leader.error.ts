import type { ElectionRole, LeaderInfo, LeadershipState } from '../election';

/**
 * Thrown by `assertLeader()` when this instance does not lead at the moment of the call: a code path
 * that must never run on two instances found itself on one that is not the leader (ShedLock's
 * `LockAssert`). It carries what the caller needs to react: who leads, if anyone.
 */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  /** The Consul key of the election. */
  readonly key: string;
  /** This instance's id. */
  readonly instanceId: string;
  /** This instance's role at the call (`follower`, `stopped`, or `leader` whose lease just ran out). */
  readonly role: ElectionRole;
  /** Who holds the key, as this instance last read it; null when nobody does. */
  readonly leader: LeaderInfo | null;

  constructor(key: string, state: LeadershipState, context?: string) {
    const holder = state.leader ? `"${state.leader.instanceId}" leads` : 'no leader is known';
    super(
      `${context ? `${context}: ` : ''}this instance ("${state.instanceId}") is not the leader of ` +
        `"${key}" (role ${state.role}; ${holder}). This code path must run on the leader only.`,
    );
    this.key = key;
    this.instanceId = state.instanceId;
    this.role = state.role;
    this.leader = state.leader;
  }
}

/** The check behind every `assertLeader()`: `isLeader` is read at the call, never from a cached state. */
export function assertLeaderOf(
  election: { readonly key: string; readonly state: LeadershipState; isLeader(): boolean },
  context?: string,
): void {
  if (!election.isLeader()) throw new NotLeaderError(election.key, election.state, context);
}
