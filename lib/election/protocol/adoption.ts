import type { CandidateSession } from '../session/candidate-session';
import type { CampaignHost } from './campaign-host';
import { ElectionMessages } from '../election.messages';
import type { Observation } from '../watch/key-watch';
import { instantOf } from './lease';
import { decodeLeaderValue, type LeaderValue } from './leader-value';
import { heldKeyOf } from './release';
import { isOwnRewrite } from './successors';
import { leaseWaitMs } from './takeover';

/** What an adoption needs of the campaign that found the hold. */
export interface AdoptionCampaign {
  /** Whether resign()'s pause is still on at `now`. */
  isPausedAt(now: number): boolean;
  /** Runs one campaign step, with the backoff and retry rules every step shares. */
  step(step: () => Promise<number | null>): Promise<void>;
  /** What we write into the key when we take it, `leaseMs` the wait a successor owes. */
  valueToWrite(observation: Observation, leaseMs: number): LeaderValue;
  /** A hold was won: the next failure backs off from the start. */
  won(): void;
}

/**
 * Adopting our own hold whose acquire answer was lost (SAFETY.md rule 2): a read shows our session
 * on the key although we do not hold it. The hold is confirmed first and acted on only D after the
 * read that found it, since how the key was free is no longer known.
 */
export class Adoption {
  /** The observation on which an adoption found the key not ours after all: not tried again. */
  private tried: Observation | null = null;

  constructor(
    private readonly host: CampaignHost,
    private readonly campaign: AdoptionCampaign,
  ) {}

  /**
   * A read shows our session on the key although we do not hold it: an acquire whose answer was
   * lost or came after its timeout went through. Adopt the hold (handing it back would let the next
   * candidate do the same, with no leader and two writes per round), unless resign() paused us.
   * A read from before our own release shows the same and is ignored.
   */
  found(session: CandidateSession, observation: Observation): void {
    const entry = observation.entry!;
    if (this.host.released(session, entry.modifyIndex)) return;
    if (this.tried === observation) return;
    // An operator's plain PUT keeps the session, so the value may be someone else's. The hold's value
    // is always our own (it names the leader and its token to followers, and a release writes it):
    // another's is written back once the hold begins. Our id in it is not enough: a copy of an
    // earlier release of ours (a backup imported) carries its marker, bound to this very session,
    // and an operator's lease or metadata; ours is what our acquire wrote, but for when and whom
    // it names (successors.ts, isOwnRewrite).
    const inKey = decodeLeaderValue(entry.value);
    const successorWaitMs = this.successorWaitMs();
    const fresh = this.campaign.valueToWrite(observation, successorWaitMs);
    const overwritten =
      !inKey || !isOwnRewrite({ ...fresh, since: inKey.since, token: inKey.token }, inKey);
    const value = overwritten ? fresh : inKey;
    if (this.campaign.isPausedAt(this.host.clock.now())) {
      this.host.release(
        session,
        { value, acquiredIndex: entry.modifyIndex, successorWaitMs },
        Promise.resolve(false),
      );
      return;
    }
    void this.campaign.step(() => this.adopt(session, observation, value, overwritten));
  }

  /**
   * The lease a successor must wait out after an adopted hold that never acted: we do not know which
   * vacancy the lost acquire took, so the longest lease we know of (the value in the key is our
   * hold's, never a predecessor's: KeyWatch remembers the last other one).
   */
  private successorWaitMs(): number {
    return Math.max(this.host.options.leaseDurationMs, this.host.lastHolderLeaseMs() ?? 0);
  }

  /**
   * Adopts a hold Consul gave us without our knowing: confirms it first (the lease counts from that
   * confirmation), and acts only D after the read that found it, the first moment we know the
   * previous holder's hold had ended — however the key was free, which we no longer know.
   */
  private async adopt(
    session: CandidateSession,
    observation: Observation,
    value: LeaderValue,
    overwritten: boolean,
  ): Promise<number | null> {
    const entry = observation.entry!;
    const sent = instantOf(this.host.clock);
    const confirmed = await this.host.port.confirmHolding(
      this.host.options.key,
      session.id,
      this.host.options.requestTimeoutMs,
    );
    this.host.problems.reportSuccess('campaign');
    if (!confirmed) {
      // Not ours after all (a read from before a release of ours): not again for this observation.
      this.tried = observation;
      return null;
    }
    if (this.host.session() !== session || this.host.holding()) return null;
    const successorWaitMs = this.successorWaitMs();
    // The token is Consul's index of the entry, never one read from the value: an operator's
    // import may have put an old one there.
    const token = entry.modifyIndex;
    const held = { value: { ...value, token }, acquiredIndex: token, successorWaitMs };
    // stop() or resign() came while the confirmation was in flight: never act, give it back.
    if (!this.host.running()) {
      this.host.onAcquiredWhileStopping(heldKeyOf(held, false));
      return null;
    }
    if (this.campaign.isPausedAt(this.host.clock.now())) {
      this.host.release(session, held, Promise.resolve(false));
      return null;
    }
    this.host.logger.log(ElectionMessages.adopted(this.host.options.key, entry.modifyIndex));
    this.campaign.won();
    this.host.onAcquired({
      session,
      value: held.value,
      fencingToken: token,
      modifyIndex: entry.modifyIndex,
      leaseFrom: sent,
      vacancy: 'invalidated',
      actAt: Math.max(sent.mono, observation.observedAt + leaseWaitMs(successorWaitMs, undefined)),
      successorWaitMs,
      previousHolder: undefined,
      overwritten,
    });
    return null;
  }
}
