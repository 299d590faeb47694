import type { CandidateSession } from '../session/candidate-session';
import type { PublishedLeader } from '../state/published-leader';
import type { StatePublisher } from '../state/state-publisher';
import type { ElectionContext } from './election-context';
import type { ElectionStage } from './election-stage';
import type { ReleasableHold } from './release';
import type { SuccessorNaming } from './successors';

/** What the hold (and its view of a key read) needs of the election. */
export interface HoldHost extends ElectionContext {
  readonly out: StatePublisher;
  /** Who leads, as this instance can vouch for it: reads and the end of our own terms feed it. */
  readonly leader: PublishedLeader;
  readonly successors: SuccessorNaming;
  /** The election's stage: the hold lives in it (`holding`), nowhere else. */
  stage(): ElectionStage;
  enter(stage: ElectionStage): void;
  noLocalAgent(): boolean;
  release(session: CandidateSession, hold: ReleasableHold, claim: Promise<boolean>): void;
  onSessionLost(session: CandidateSession): void;
  /** A term of ours began: every holder before us has stopped acting (SAFETY.md, rule 2). */
  onTermBegan(): void;
  /** The term ended without a release: a campaign may start. */
  onStepDown(): void;
}
