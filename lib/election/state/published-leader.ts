import type { Clock } from '../time/clock';
import type { ElectionTimers, TimerSlot } from '../time/election-timers';
import type { LeaderInfo, LeadershipState } from './leadership-state';
import type { StatePublisher } from './state-publisher';

/**
 * Who leads, as this instance can vouch for it: what the last successful read of the key showed
 * (or our own acquire), dropped to "not known" — `leader: null, leaderKnown: false` — when this
 * instance can no longer vouch for it:
 * - its own term ended while the state still named itself: whatever the reason, the key may be
 *   someone else's by now (a cut-off leader steps down for its deadline while Consul hands the key
 *   on), and a resign or stop lets it go;
 * - a request failed (network, timeout, 5xx, 429) and no request has reached the servers since,
 *   for longer than the lease D: in that time the leader it read may have stepped down (a cut-off
 *   holder does so within D of its last confirmation) and another taken over. D is also where the
 *   health indicator tells a blip from an outage. A quiet blocking read proves nothing either way:
 *   it is the failures that start the count, and only an answer from the servers (not the local
 *   agent's answer to a check update) ends it;
 * - a read of the key failed, for any reason (a 403 too: a token that lost its key rights), and no
 *   read of the key has succeeded since, for longer than D. Here only an answer about the key (a
 *   read, or the holder's confirmation) ends the count: the servers answering session renewals
 *   say nothing of who holds the key (simulator seed 12579: a follower refused its reads named
 *   the leader it had last read for good, while another led with a larger token).
 * It is known again only from the next successful read. When it drops the leader for an outage it
 * reads the key afresh (then with backoff while that fails), rather than wait on the blocking read in
 * flight, which may not answer before `watchWait` when the key does not change: a drop for a
 * local-agent hiccup is over within one read, a real outage is seen to end within one backoff.
 */
export class PublishedLeader {
  private readonly staleTimer: TimerSlot;
  /** Monotonic time of the first failed request since the servers last answered; null if none. */
  private failingSince: number | null = null;
  /** A read of the key failed since one last succeeded: only an answer about the key ends the count. */
  private keyUnread = false;

  constructor(
    private readonly leaseDurationMs: number,
    private readonly clock: Clock,
    timers: ElectionTimers,
    private readonly out: StatePublisher,
    /** Reads the key afresh now (and with backoff while that fails), cutting short the read in flight. */
    private readonly readAgain: () => void,
  ) {
    this.staleTimer = timers.slot();
  }

  /** A successful read of the key (or our acquire) showed `leader` (null: the key is free). */
  read(leader: LeaderInfo | null): void {
    this.out.publish({ leader, leaderKnown: true });
  }

  /**
   * This instance's term (or hold) with `fencingToken` ends: the part of the state that says so,
   * published with the role in one snapshot — it no longer names itself.
   */
  endedPatch(instanceId: string, fencingToken: number): Partial<LeadershipState> {
    const { leader } = this.out.state;
    return leader?.instanceId === instanceId && leader.fencingToken === fencingToken
      ? { leader: null, leaderKnown: false }
      : {};
  }

  /** This instance no longer reads the key (it stopped): it can vouch for nobody. */
  forget(): void {
    const state = this.out.state;
    if (state.leaderKnown || state.leader !== null)
      this.out.publish({ leader: null, leaderKnown: false });
  }

  /** A read of the key failed, for whatever reason: a refusal (403) too, which may last. */
  keyReadFailed(): void {
    this.keyUnread = true;
    this.requestFailed();
  }

  /** A request failed for a reason that may pass (network, timeout, 5xx, 429). */
  requestFailed(): void {
    if (this.failingSince !== null) return;
    this.failingSince = this.clock.now();
    const check = (): void => {
      if (this.failingSince === null) return;
      const leftMs = this.failingSince + this.leaseDurationMs - this.clock.now();
      if (leftMs > 0) return this.staleTimer.arm(check, leftMs);
      this.forget();
      this.readAgain();
    };
    this.staleTimer.arm(check, this.leaseDurationMs);
  }

  /**
   * The Consul servers answered a request (not only the local agent): ends the count, unless a read
   * of the key failed since the last that succeeded.
   */
  serversAnswered(): void {
    if (this.keyUnread) return;
    this.failingSince = null;
    this.staleTimer.clear();
  }

  /** The servers answered about the key itself (a read of it, the holder's confirmation). */
  keyAnswered(): void {
    this.keyUnread = false;
    this.serversAnswered();
  }
}
