import type { CandidateSession } from '../session/candidate-session';
import { ElectionMessages } from '../election.messages';
import type { Instant, Lease } from './lease';
import type { LeaderValue } from './leader-value';
import type { LeadershipTerm } from '../state/leadership-state';
import type { Vacancy } from './takeover';

/** Why a term ended; carried as the `reason` of the term's aborted signal. */
export type StepDownReason = 'deadline' | 'lost' | 'session-lost' | 'resign' | 'stop';

/** The error a term's `AbortSignal` is aborted with. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  constructor(readonly reason: StepDownReason) {
    super(ElectionMessages.leadershipEnded(reason));
  }
}

/** The key as this instance holds it, from the acquire until the step-down. */
export interface Holding {
  readonly session: CandidateSession;
  readonly fencingToken: number;
  /**
   * ModifyIndex of the key as we last wrote it (the acquire, or a rewrite of the successors): reads
   * older than this cannot tell us we lost it, and a release is conditioned on it.
   */
  acquiredIndex: number;
  /** What the key holds while we lead; the successors in it follow the candidates. */
  value: LeaderValue;
  /** Stops the leader's watch of the candidates. */
  readonly ended: AbortController;
  /** The holder we took over from, if any: it ranks last and is not named. */
  readonly previousHolder: string | undefined;
  readonly lease: Lease;
  /** How the key was free when we took it (decides whether a release before acting may claim the marker). */
  readonly vacancy: Vacancy;
  /**
   * Monotonic time from which this instance may act (later than the acquire when the old lease may
   * still run); brought forward once the catalog names the leases a takeover did not know.
   */
  actAt: number;
  /**
   * The lease a successor must wait out if this hold ends without the marker, advertised in the
   * key's `leaseMs`: the longer one we wait out ourselves until our term begins, our own D from
   * then on (the one before us has stopped by then: SAFETY.md, rule 2).
   */
  successorWaitMs: number;
  /** Our term began: `successorWaitMs` is our own D, and the key's value says so (`termBegan`). */
  leaseIsOwn: boolean;
  term: (LeadershipTerm & { readonly controller: AbortController }) | null;
}

/** A hold we won: by an acquire, or by adopting one whose answer we never got. */
export interface Takeover {
  readonly session: CandidateSession;
  readonly value: LeaderValue;
  readonly fencingToken: number;
  readonly modifyIndex: number;
  /** When the request that proved the hold was sent: the lease counts from it. */
  readonly leaseFrom: Instant;
  readonly vacancy: Vacancy;
  readonly actAt: number;
  readonly successorWaitMs: number;
  readonly previousHolder: string | undefined;
  /**
   * The key was absent and this instance never saw it held: a first election, or a key deleted
   * (under a leader that may still act) before this instance watched it — the two look the same.
   */
  readonly neverSeenHeld?: boolean;
  /**
   * The key was taken absent (or by an adoption, which cannot tell): `actAt` waits out the longest
   * lease allowed until the catalog names the leases of the key's candidates; then the hold acts
   * from `from` + the longest of those and `knownMs` (candidate-leases.ts).
   */
  readonly leasesUnknown?: { readonly from: number; readonly knownMs: number };
  /** The key holds someone else's value under our session (an operator's plain PUT): ours is written back. */
  readonly overwritten?: boolean;
}
