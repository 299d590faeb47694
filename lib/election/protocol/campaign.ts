import type { CampaignHost } from './campaign-host';
import { Adoption, type AdoptionCampaign } from './adoption';
import { Backoff } from '../time/backoff';
import type { CandidateSession } from '../session/candidate-session';
import type { AcquireResult } from '../consul/consul-port';
import { classify } from '../consul/consul-request.error';
import type { TimerSlot } from '../time/election-timers';
import { ElectionMessages } from '../election.messages';
import type { Takeover } from './holding';
import type { Observation } from '../watch/key-watch';
import { instantOf } from './lease';
import { decodeLeaderValue, encodeLeaderValue, type LeaderValue } from './leader-value';
import { heldKeyOf } from './release';
import { successionRank } from './succession';
import { inheritSuccessors } from './successors';
import { CLOCK_RATE_MARGIN, actTime, leaseWaitMs, mayClaimReleased, vacancyOf } from './takeover';
import { LEASE_DURATION_MAX_MS } from '../options/option-durations';

/** How long past Consul's lock-delay to try an acquire, beyond what our clock's rate may lose on Consul's. */
const LOCK_DELAY_MARGIN_MS = 25;

/**
 * Consul counts lock-delay on its servers' clock; ours may run up to CLOCK_RATE_MARGIN faster
 * (SAFETY.md), which over a 15 s lock-delay is 150 ms: an acquire at lock-delay + 25 ms by our
 * clock is refused, and the refusal costs a whole lock-delay more.
 */
function lockDelayWaitMs(lockDelayMs: number): number {
  return lockDelayMs * (1 + CLOCK_RATE_MARGIN) + LOCK_DELAY_MARGIN_MS;
}

/**
 * The campaign: when the last observation shows the key free, tries to take it at the earliest
 * moment the rules allow (lock-delay end, succession rank, resign pause, backoff), by an acquire
 * conditioned on what was seen, or by adopting our own hold whose acquire answer was lost. Rule 2's
 * act time is computed here (takeover.ts) and handed to the hold with the takeover.
 */
export class Campaign implements AdoptionCampaign {
  private stepping = false;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: TimerSlot;
  private readonly backoff: Backoff;
  private pausedUntil = 0;
  /**
   * No campaign step before this time: the backoff after a failed acquire or adoption, or the end of
   * Consul's lock-delay. Kept across wakes of the watch (writes to other keys wake an absent key's
   * read), which would otherwise turn the backoff into one acquire per wake.
   */
  private retryAt = 0;
  /**
   * The wait is Consul's lock-delay, not a backoff: it ends for sure once someone has taken the key
   * (Consul let them), so a later vacancy — a release, with no lock-delay of its own — is not held up.
   */
  private waitIsLockDelay = false;
  /** Set by an acquire refused for lock-delay, for the campaign step that ran it. */
  private lastRefusalWasLockDelay = false;
  private readonly adoption: Adoption;
  /**
   * A session whose last acquire went unanswered (timeout, connection lost, 5xx). Consul may have
   * refused it for an invalid session, and that refusal is all that would have told us the session
   * is gone (an operator destroyed it, its check failed) before the next renewal, sessionTtl/2 away:
   * with commits slower than requestTimeout no acquire is ever answered. The next acquire with it
   * asks Consul about the session first (see CandidateSession.verify).
   */
  private unanswered: CandidateSession | null = null;

  constructor(private readonly host: CampaignHost) {
    this.timer = host.timers.slot();
    this.backoff = Backoff.forRetries(host.options.retry);
    this.adoption = new Adoption(host, this);
  }

  /** No campaign before `until` (resign's pause). */
  pauseUntil(until: number): void {
    this.pausedUntil = until;
  }

  /** Whether resign()'s pause is still on at `now`. */
  isPausedAt(now: number): boolean {
    return now < this.pausedUntil;
  }

  /** A hold was won: the next failure backs off from the start. */
  won(): void {
    this.backoff.reset();
    this.unanswered = null;
  }

  /** Resolves once the campaign step in flight, if any, has settled. */
  settled(): Promise<void> {
    return this.inFlight;
  }

  /** Someone holds the key: a wait for Consul's lock-delay is over (Consul let them take it). */
  onKeyHeld(): void {
    if (this.waitIsLockDelay) {
      this.retryAt = 0;
      this.waitIsLockDelay = false;
    }
  }

  /** Tries to take the key when the last observation shows it free, at the earliest safe moment. */
  consider(): void {
    // Without a session there is nothing to campaign with; the candidacy calls back once it has one.
    // While a release is in flight the key may still be ours: wait for it (it calls back when done).
    const session = this.host.session();
    if (
      !this.host.running() ||
      this.host.holding() ||
      this.stepping ||
      !session ||
      this.host.releasing()
    )
      return;
    const observation = this.host.observation();
    if (!observation) return;
    const holder = observation.entry?.session;
    if (holder && holder !== session.id) return this.cancel();
    const now = this.host.clock.now();
    if (now < this.retryAt) {
      this.cancel();
      this.timer.arm(() => this.consider(), this.retryAt - now);
      return;
    }
    if (holder) {
      this.cancel();
      return this.adoption.found(session, observation);
    }
    let notBefore = this.pausedUntil;
    // After an invalidation Consul refuses the key for lock-delay; try when it ends, not in a loop.
    if (vacancyOf(observation.entry, observation.heldBefore) === 'invalidated') {
      notBefore = Math.max(
        notBefore,
        observation.observedAt + lockDelayWaitMs(this.host.options.lockDelayMs),
      );
    }
    const previous = decodeLeaderValue(observation.entry?.value ?? null);
    const rank = successionRank(previous?.successors, this.host.instanceId, previous?.instanceId);
    notBefore =
      Math.max(notBefore, observation.freeSeenAt) + rank * this.host.options.successionStepMs;
    this.cancel();
    if (notBefore > now) {
      this.timer.arm(() => this.consider(), notBefore - now);
      return;
    }
    void this.step(() => this.attemptAcquire(observation));
  }

  /** Runs one campaign step (an acquire or an adoption), with the backoff and retry rules of both. */
  step(step: () => Promise<number | null>): Promise<void> {
    const attempt = (async () => {
      this.stepping = true;
      let retryInMs: number | null = null;
      const observation = this.host.observation();
      this.lastRefusalWasLockDelay = false;
      try {
        retryInMs = await step();
      } catch (error) {
        // We cannot tell whether Consul applied it: a later read showing our session settles it,
        // and stop() looks at the key before it leaves.
        if (!this.host.running()) return;
        this.host.problems.reportProblem('campaign', classify(error, 'acquire'));
        retryInMs = this.backoff.nextAfter(error);
      } finally {
        this.stepping = false;
      }
      if (!this.host.running() || this.host.holding()) return;
      const lockDelayRefused = this.lastRefusalWasLockDelay;
      if (retryInMs === null) {
        this.retryAt = 0;
        if (this.host.observation() !== observation) this.consider();
        return;
      }
      this.retryAt = this.host.clock.now() + retryInMs;
      this.waitIsLockDelay = lockDelayRefused;
      this.cancel();
      this.timer.arm(() => this.consider(), retryInMs);
    })();
    this.inFlight = attempt;
    return attempt;
  }

  /**
   * What we write into the key when we take it; `leaseMs`, the wait a successor owes should we
   * vanish, is the lease we are waiting out ourselves until our term begins (SAFETY.md, rule 2).
   */
  valueToWrite(observation: Observation, leaseMs: number): LeaderValue {
    return {
      instanceId: this.host.instanceId,
      metadata: { ...this.host.options.metadata },
      since: new Date(this.host.clock.wallNow()).toISOString(),
      // Until our own watch of the candidates names them, keep the order the last holder knew.
      successors: inheritSuccessors(observation, this.host.instanceId),
      leaseMs,
    };
  }

  /**
   * The lease a successor must wait out if our hold ends before our term begins: the longer of our
   * D and the one we wait out ourselves (a rolling change may have shortened D while a holder of the
   * old one may still act). Written into the key with the acquire, so that a follower remembers it
   * should the key then be deleted; the hold drops it to our own D once its term begins.
   */
  private ownLeaseAfter(observation: Observation): number {
    const vacancy = vacancyOf(observation.entry, observation.heldBefore);
    if (vacancy === 'released') return this.host.options.leaseDurationMs;
    // What the watch remembers, not the free entry's own `leaseMs`: it includes that one (the
    // watch read it into the memory), but an operator's import (LockIndex 0) may name a shorter
    // lease than the holder before it, or none (KeyWatch, lastHolderLeaseMs).
    return Math.max(this.host.options.leaseDurationMs, this.host.lastHolderLeaseMs() ?? 0);
  }

  /** One acquire of the free key; returns when to try again (null: when the watch brings news). */
  private async attemptAcquire(observation: Observation): Promise<number | null> {
    const session = this.host.session();
    if (!session || !this.host.running() || this.host.observation() !== observation) return null;
    if (this.unanswered === session) {
      if ((await session.verify()) === 'lost') return null;
      this.unanswered = null;
      if (this.host.session() !== session || !this.host.running()) return null;
      if (this.host.observation() !== observation) return null;
    }
    const successorWaitMs = this.ownLeaseAfter(observation);
    const value = this.valueToWrite(observation, successorWaitMs);
    const sent = instantOf(this.host.clock);
    let result: AcquireResult;
    try {
      result = await this.host.port.acquire(
        {
          key: this.host.options.key,
          sessionId: session.id,
          value: encodeLeaderValue(value),
          expectedModifyIndex: observation.entry?.modifyIndex ?? 0,
        },
        this.host.options.requestTimeoutMs,
      );
    } catch (error) {
      if (classify(error, 'acquire').outcomeUnknown) this.unanswered = session;
      throw error;
    }
    const answeredAt = this.host.clock.now();
    this.host.problems.reportSuccess('campaign');
    if (result.acquired) {
      const vacancy = vacancyOf(observation.entry, observation.heldBefore);
      // An absent key names no lease of the holder before us, which may be longer than any this
      // instance read (a rolling change that lengthens leaseDuration): until the catalog names the
      // leases of the key's candidates, the hold waits out the longest one allowed (SAFETY.md,
      // rule 2; candidate-leases.ts).
      const leasesUnknown =
        vacancy === 'absent' && this.host.options.healthCheck
          ? { from: answeredAt, knownMs: successorWaitMs }
          : undefined;
      const takeover: Takeover = {
        session,
        value: { ...value, token: result.modifyIndex },
        fencingToken: result.modifyIndex,
        modifyIndex: result.modifyIndex,
        leaseFrom: sent,
        vacancy,
        actAt: actTime({
          vacancy,
          sentAt: sent.mono,
          answeredAt,
          freeSeenAt: observation.observedAt,
          waitMs: leaseWaitMs(leasesUnknown ? LEASE_DURATION_MAX_MS : successorWaitMs, undefined),
        }),
        successorWaitMs,
        leasesUnknown,
        previousHolder: decodeLeaderValue(observation.entry?.value ?? null)?.instanceId,
        neverSeenHeld: vacancy === 'absent' && !observation.heldBefore,
      };
      // stop() began, or resign() was called, while the acquire was in flight: never act.
      const neverActed = mayClaimReleased({ acted: false, workDrained: true, vacancy });
      if (!this.host.running()) {
        this.host.onAcquiredWhileStopping(
          heldKeyOf(
            { value: takeover.value, acquiredIndex: takeover.modifyIndex, successorWaitMs },
            neverActed,
          ),
        );
        return null;
      }
      if (answeredAt < this.pausedUntil) {
        this.host.release(
          session,
          { value: takeover.value, acquiredIndex: takeover.modifyIndex, successorWaitMs },
          Promise.resolve(neverActed),
        );
        return null;
      }
      this.backoff.reset();
      this.host.onAcquired(takeover);
      return null;
    }
    this.host.logger.debug?.(
      ElectionMessages.acquireRefused(this.host.options.key, result.reason, result.detail),
    );
    if (result.reason === 'lock-delay') {
      this.lastRefusalWasLockDelay = true;
      return lockDelayWaitMs(this.host.options.lockDelayMs);
    }
    if (result.reason === 'session-invalid') this.host.onSessionLost(session);
    // 'changed' and 'held': the watch brings the new state and decides.
    return null;
  }

  /**
   * A key read failed. Refused for rights (403) while an acquire of our session went unanswered,
   * the key may be ours without our knowing: Consul keeps it for as long as the session lives, and
   * our renewals (still allowed) keep it alive, while no read can tell us we hold it, so nobody
   * leads until the key rule comes back (simulator seed 11119). We give the key up the way a holder
   * whose release is refused does: by destroying the session (SAFETY.md rule 4). We never acted on
   * that hold, so its successor, which waits out lock-delay and our written lease, owes nothing more.
   */
  onKeyReadFailed(error: unknown): void {
    const session = this.unanswered;
    if (!session || session !== this.host.session() || this.host.holding()) return;
    const refused = classify(error, 'key watch');
    if (refused.kind !== 'forbidden') return;
    this.unanswered = null;
    void this.host.giveUp(session, refused).then((destroyed) => {
      // Not destroyed (denied or unanswered too): the next refused read tries again.
      if (!destroyed && this.host.session() === session) this.unanswered = session;
    });
  }

  cancel(): void {
    this.timer.clear();
  }
}
