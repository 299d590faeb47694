import type { Clock } from '../time/clock';
import type { ElectionTimers, TimerSlot } from '../time/election-timers';
import type { LeaderInfo } from './leadership-state';
import type { StatePublisher } from './state-publisher';

/**
 * Who leads, as this instance can vouch for it: what the last successful read of the key showed
 * (or our own acquire), dropped to "not known" — `leader: null, leaderKnown: false` — when this
 * instance can no longer vouch for it:
 * - its own term ended while the state still named itself: whatever the reason, the key may be
 *   someone else's by now (a cut-off leader steps down for its deadline while Consul hands the key
 *   on), and a resign or stop lets it go;
 * - Consul has not answered for longer than the lease D: in that time the leader it read may have
 *   stepped down (a cut-off holder does so within D of its last confirmation) and another taken
 *   over. D is also where the health indicator tells a blip from an outage: one bound for both.
 * It is known again only from the next successful read, not when Consul merely answers again: then
 * the key is read afresh at once, since the blocking read in flight may not answer before
 * `watchWait` when the key did not change.
 */
export class PublishedLeader {
  private readonly staleTimer: TimerSlot;
  /** The `unreachableSince` the stale timer was armed for. */
  private armedFor: number | null = null;
  /** The leader was dropped for an outage: a fresh read is due once Consul answers again. */
  private droppedForOutage = false;

  constructor(
    private readonly leaseDurationMs: number,
    private readonly clock: Clock,
    timers: ElectionTimers,
    private readonly out: StatePublisher,
    /** Reads the key afresh now, rather than when the blocking read in flight answers. */
    private readonly readAgain: () => void,
  ) {
    this.staleTimer = timers.slot();
    // Only arms or clears a timer: never publishes from inside a publication.
    out.state$.subscribe((state) => this.followReachability(state.unreachableSince));
  }

  /** A successful read of the key (or our acquire) showed `leader` (null: the key is free). */
  read(leader: LeaderInfo | null): void {
    this.droppedForOutage = false;
    this.out.publish({ leader, leaderKnown: true });
  }

  /** This instance's term (or hold) with `fencingToken` ended: it no longer names itself. */
  ended(instanceId: string, fencingToken: number): void {
    const { leader } = this.out.state;
    if (leader?.instanceId === instanceId && leader.fencingToken === fencingToken) this.forget();
  }

  /** This instance no longer reads the key (it stopped): it can vouch for nobody. */
  forget(): void {
    const state = this.out.state;
    if (state.leaderKnown || state.leader !== null)
      this.out.publish({ leader: null, leaderKnown: false });
  }

  private followReachability(unreachableSince: number | null): void {
    if (unreachableSince === this.armedFor) return;
    this.armedFor = unreachableSince;
    if (unreachableSince === null) {
      this.staleTimer.clear();
      if (this.droppedForOutage) {
        this.droppedForOutage = false;
        this.readAgain();
      }
      return;
    }
    const check = (): void => {
      const since = this.out.state.unreachableSince;
      if (since === null) return;
      const leftMs = since + this.leaseDurationMs - this.clock.now();
      if (leftMs > 0) return this.staleTimer.arm(check, leftMs);
      this.droppedForOutage = true;
      this.forget();
    };
    this.staleTimer.arm(check, unreachableSince + this.leaseDurationMs - this.clock.now());
  }
}
