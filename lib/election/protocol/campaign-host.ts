import type { CandidateSession } from '../session/candidate-session';
import type { ConsulRequestError } from '../consul/consul-request.error';
import type { Observation } from '../watch/key-watch';
import type { ElectionContext } from './election-context';
import type { Takeover } from './holding';
import type { HeldKey, ReleasableHold } from './release';

/** What the campaign (and the adoption it runs) needs of the election. */
export interface CampaignHost extends ElectionContext {
  running(): boolean;
  /** Whether this instance holds the key now. */
  holding(): boolean;
  session(): CandidateSession | null;
  /** Whether a release is in flight: the key may still be ours. */
  releasing(): boolean;
  observation(): Observation | null;
  lastHolderLeaseMs(): number | undefined;
  /** Whether `modifyIndex` of `session`'s hold is one we released (see KeyRelease). */
  released(session: CandidateSession, modifyIndex: number): boolean;
  release(session: CandidateSession, hold: ReleasableHold, claim: Promise<boolean>): void;
  onSessionLost(session: CandidateSession): void;
  /** Gives up `session` by destroying it (Candidacy.giveUp); true once Consul destroyed it. */
  giveUp(session: CandidateSession, refused: ConsulRequestError): Promise<boolean>;
  /** The key is ours: the hold begins. */
  onAcquired(takeover: Takeover): void;
  /** An acquire or adoption won the key after stop() began: stop() releases it. */
  onAcquiredWhileStopping(held: HeldKey): void;
}
