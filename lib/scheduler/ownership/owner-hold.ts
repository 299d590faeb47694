import { Lease, type Instant } from '../../election/protocol/lease';
import type { Vacancy } from '../../election/protocol/takeover';

/**
 * This instance's hold of one job's owner key: the acquire that won it, the moment from which it may
 * act (the previous owner's lease waited out, protocol/takeover.ts), and its lease, confirmed by
 * every owners read that still shows the hold (one read confirms every hold of the instance).
 *
 * `handing-over`: the assignment gave the job to another instance; this one no longer acts on it
 * and releases the key once no fire of it runs (between fires).
 */
export class OwnerHold {
  readonly lease: Lease;
  phase: 'waiting' | 'acting' | 'handing-over' = 'waiting';
  /** Whether a Lead was ever given on this hold: only then may its release say "released". */
  acted = false;
  /**
   * Taken out of turn: the instance whose turn it was did not take the job (`by`), for the
   * `passes`-th time in a row (counted in the key's value, whoever took it). The job is not handed
   * to it again before `settleMs × 2^passes` (job-ownership.ts, rebalance).
   */
  passedOver: { readonly by: string; readonly passes: number; readonly at: number } | null = null;

  constructor(
    readonly job: string,
    readonly key: string,
    readonly sessionId: string,
    /** The hold as acquired: a read showing another LockIndex or ModifyIndex shows another hold. */
    readonly lockIndex: number,
    readonly modifyIndex: number,
    /** How the key was free when taken (`absent` also for an adopted hold: vacancy unknown). */
    readonly vacancy: Vacancy,
    /** Monotonic time from which it may act. */
    readonly actFrom: number,
    /** Monotonic time the acquire's answer arrived: reads sent before it cannot show the hold. */
    readonly answeredAt: number,
    leaseMs: number,
    acquireSent: Instant,
  ) {
    // The acquire itself proves the hold at its send time, like any confirmation.
    this.lease = new Lease(leaseMs, acquireSent);
  }

  /** Whether a read of the owners sent at `sentMono` can judge this hold (it was sent after we knew of it). */
  judgedBy(sentMono: number): boolean {
    return sentMono >= this.answeredAt;
  }

  /** An entry read from the owners prefix is this very hold. */
  shownBy(entry: { session: string | null; lockIndex: number; modifyIndex: number }): boolean {
    return (
      entry.session === this.sessionId &&
      entry.lockIndex === this.lockIndex &&
      entry.modifyIndex === this.modifyIndex
    );
  }
}
