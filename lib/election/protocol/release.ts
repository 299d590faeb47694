import { Backoff } from '../time/backoff';
import type { CandidateSession } from '../session/candidate-session';
import type { ReleaseRequest } from '../consul/consul-port';
import { classify, type ConsulRequestError } from '../consul/consul-request.error';
import type { ElectionContext } from './election-context';
import { ElectionMessages } from '../election.messages';
import { decodeLeaderValue, encodeLeaderValue, type LeaderValue } from './leader-value';
import type { SerialQueue } from '../time/serial-queue';

/** What a release needs of a hold. */
export interface ReleasableHold {
  readonly value: LeaderValue;
  /** The key's ModifyIndex while held: the release is conditioned on it. */
  readonly acquiredIndex: number;
  readonly successorWaitMs: number;
}

/** A hold this instance may still have in Consul: what to write on release and the key's index while held. */
export interface HeldKey {
  readonly value: LeaderValue;
  readonly modifyIndex: number;
  /** Whether the release may carry the "released" marker (takeover.ts, mayClaimReleased). */
  readonly claim: boolean;
  readonly successorWaitMs: number;
}

/** Tries at stop to look at, and release, the key before the session is destroyed. */
const STOP_ATTEMPTS = 3;

/** What the releases need of the election. */
export interface ReleaseHost extends ElectionContext {
  /** The session's serial queue: a release runs after the session's opening, never beside it. */
  readonly queue: SerialQueue;
  /** Whether `session` is still the candidacy's. */
  isCurrent(session: CandidateSession): boolean;
  /** Whether a release loop for `session` goes on: the election runs, holds nothing, and the session is current. */
  mayGoOn(session: CandidateSession): boolean;
  /** Resolves after `ms`, or at once when the election stops. */
  sleep(ms: number): Promise<void>;
  /** The lease the last other holder wrote into the key (see KeyWatch). */
  lastHolderLeaseMs(): number | undefined;
  /** A release loop ended: campaigns may go on. */
  onReleaseSettled(): void;
  /**
   * Gives the key up by destroying `session`, after Consul refused its release for rights (see
   * Candidacy.giveUp); true once the session is destroyed.
   */
  giveUp(session: CandidateSession, refused: ConsulRequestError): Promise<boolean>;
}

/**
 * Giving the key back: the release loop after a step-down (with the "released" marker only when
 * the hold may claim it, SAFETY.md rule 3; conditioned on the hold's index, rule 4) and the few
 * tries at stop. Remembers the last hold it released, by session, so that a read from before the
 * release is not taken for a lost acquire.
 */
export class KeyRelease {
  /**
   * The last hold this instance released, by session: a read showing it is from before the release,
   * not a lost answer. Per session, since indexes start over on an agent that forgot its state.
   */
  private lastReleased: { readonly sessionId: string; readonly modifyIndex: number } | null = null;
  /** The hold a release loop is giving back, until Consul confirms it: stop() finishes it. */
  releasing: HeldKey | null = null;
  /** Release loops queued or running: new campaigns wait until they are done. */
  inFlight = 0;

  constructor(private readonly host: ReleaseHost) {}

  /** Whether `modifyIndex` of `session`'s hold is one we have released (or sent a release for). */
  released(session: CandidateSession, modifyIndex: number): boolean {
    const released = this.lastReleased;
    return released?.sessionId === session.id && modifyIndex <= released.modifyIndex;
  }

  /**
   * Releases the key after this instance stepped down — with the "released" marker when `claim`
   * resolves true (SAFETY.md) — so that the next candidate need not wait for our session's
   * invalidation. Retries every failure with capped backoff (the longest delay after a 403) while
   * the election runs and our session lives: a leader cut off from Consul hands over as soon as it
   * is back, and no error answer turns into a loop. New campaigns wait until it is done.
   */
  release(
    session: CandidateSession,
    hold: ReleasableHold,
    claim: Promise<boolean>,
    /** Called once the first attempt has been answered (or could not be made). */
    attempted: () => void = () => undefined,
  ): Promise<void> {
    this.inFlight += 1;
    return this.host.queue.run(async () => {
      try {
        await this.releaseLoop(session, hold, claim, attempted);
      } finally {
        attempted();
        this.inFlight -= 1;
        this.host.onReleaseSettled();
      }
    });
  }

  private async releaseLoop(
    session: CandidateSession,
    hold: ReleasableHold,
    claim: Promise<boolean>,
    attempted: () => void,
  ): Promise<void> {
    let held = heldKeyOf(hold, await claim);
    this.releasing = held;
    const backoff = Backoff.forRetries(this.host.options.retry);
    let conflicts = 0;
    let unknownOutcome = false;
    while (this.host.mayGoOn(session)) {
      let retryInMs: number;
      try {
        const outcome = await this.attempt(session, held, unknownOutcome);
        unknownOutcome = false;
        if (outcome === 'done') {
          this.releasing = null;
          this.host.problems.reportSuccess('release');
          session.setMode('standby');
          return;
        }
        // The key changed under our session: release what is there now, at once the first time.
        held = { ...held, modifyIndex: outcome };
        this.releasing = held;
        retryInMs = conflicts++ === 0 ? 0 : backoff.next();
      } catch (error) {
        const failure = classify(error, 'key release');
        this.host.problems.reportProblem('release', failure);
        // Refused for rights: Consul keeps the key for as long as our session lives, and retrying
        // the release would keep it there for as long as the token may not write the key. So we
        // give the key up the way the token still may: by destroying the session (SAFETY.md rule 4).
        if (failure.kind === 'forbidden' && (await this.host.giveUp(session, failure))) {
          this.releasing = null;
          return;
        }
        retryInMs = backoff.nextAfter(failure);
        // A 403 or 429 says Consul did not carry it out: nothing to look at before the next try.
        unknownOutcome = failure.outcomeUnknown;
      }
      attempted();
      if (retryInMs > 0) await this.host.sleep(retryInMs);
    }
    // Our session is gone (its keys went with it) or stop() finishes the release (this.releasing).
    if (!this.host.isCurrent(session)) this.releasing = null;
  }

  /**
   * One release, conditioned on the hold's last known index: a retry after a release whose answer
   * was lost finds the key changed and does nothing, and can never free a newer hold. When Consul
   * refuses it, reads the key: if our session still holds it (an operator's PUT, our own successor
   * rewrite whose answer was lost), returns the index to release it at; else it is done.
   * `lookFirst` after a try whose outcome is unknown: it may have gone through, or been refused
   * with an answer as late as its own (slow commits), so retrying it blind could go on for ever
   * while the key is free or someone else's; the read settles it first.
   */
  private async attempt(
    session: CandidateSession,
    held: HeldKey,
    lookFirst = false,
  ): Promise<'done' | number> {
    const { key, requestTimeoutMs } = this.host.options;
    if (lookFirst) {
      const seen = await this.host.port.readKey(key, { timeoutMs: requestTimeoutMs });
      if (seen.entry?.session !== session.id) return 'done';
      if (seen.entry.modifyIndex !== held.modifyIndex) return seen.entry.modifyIndex;
    }
    // Noted before it is sent: a release whose answer never comes may have gone through too.
    const previous = this.lastReleased;
    this.lastReleased = {
      sessionId: session.id,
      modifyIndex:
        previous?.sessionId === session.id
          ? Math.max(previous.modifyIndex, held.modifyIndex)
          : held.modifyIndex,
    };
    const released = await this.host.port.release(this.releaseOf(session, held), requestTimeoutMs);
    if (released) return 'done';
    const read = await this.host.port.readKey(key, { timeoutMs: requestTimeoutMs });
    return read.entry?.session === session.id ? read.entry.modifyIndex : 'done';
  }

  /** The release of a hold: marked as released when it may claim it, handed back otherwise. */
  private releaseOf(session: CandidateSession, held: HeldKey): ReleaseRequest {
    const {
      releasedAt: _released,
      releasedBy: _by,
      handedBackAt: _handedBack,
      ...value
    } = held.value;
    const now = new Date(this.host.clock.wallNow()).toISOString();
    const released: LeaderValue = held.claim
      ? { ...value, releasedAt: now, releasedBy: session.id }
      : { ...value, handedBackAt: now, leaseMs: held.successorWaitMs };
    return {
      key: this.host.options.key,
      sessionId: session.id,
      value: encodeLeaderValue(released),
      expectedModifyIndex: held.modifyIndex,
    };
  }

  /** At stop: a few tries to release what we hold, then destroy the session and remove our service. */
  async leave(session: CandidateSession, held: HeldKey | null): Promise<void> {
    session.close();
    const { requestTimeoutMs, retry } = this.host.options;
    // A few tries, whatever the failure: a release at stop saves the successor lock-delay and D,
    // and a stop must not give up on the first 500 or timeout. Knowing of no hold is not knowing
    // there is none: an acquire or adoption whose answer never came may have gone through, so a
    // stop that knows of none reads the key first.
    let hold = held;
    let looked = held !== null;
    let unknownOutcome = false;
    for (let attempt = 1; attempt <= STOP_ATTEMPTS; attempt += 1) {
      try {
        if (!looked) {
          hold = await this.ownHoldAtStop(session);
          looked = true;
        }
        if (!hold) break;
        const outcome = await this.attempt(session, hold, unknownOutcome);
        unknownOutcome = false;
        // A refusal: the key changed under our session; release what is there now, at once.
        hold = outcome === 'done' ? null : { ...hold, modifyIndex: outcome };
      } catch (error) {
        const failure = classify(error, 'stop');
        unknownOutcome = looked && failure.outcomeUnknown;
        this.host.logger.warn(
          ElectionMessages.stopStepFailed(
            this.host.options.key,
            failure.message,
            attempt,
            STOP_ATTEMPTS,
          ),
        );
        if (attempt < STOP_ATTEMPTS) await this.host.timers.pause(retry.initialDelayMs);
      }
      if (looked && !hold) break;
    }
    // Destroyed in any case: a hold we could not release is then Consul's to free (lock-delay).
    try {
      await session.destroy(requestTimeoutMs);
    } catch (error) {
      this.host.logger.warn(
        ElectionMessages.stopCleanupFailed(
          this.host.options.key,
          session.id,
          classify(error, 'stop').message,
        ),
      );
    }
  }

  private async ownHoldAtStop(session: CandidateSession): Promise<HeldKey | null> {
    const read = await this.host.port.readKey(this.host.options.key, {
      timeoutMs: this.host.options.requestTimeoutMs,
    });
    const entry = read.entry;
    if (entry?.session !== session.id) return null;
    const value = decodeLeaderValue(entry.value) ?? {
      instanceId: this.host.instanceId,
      metadata: {},
      since: new Date(0).toISOString(),
    };
    return heldKeyOf(
      {
        value,
        acquiredIndex: entry.modifyIndex,
        successorWaitMs: Math.max(
          this.host.options.leaseDurationMs,
          this.host.lastHolderLeaseMs() ?? 0,
        ),
      },
      false,
    );
  }
}

export function heldKeyOf(hold: ReleasableHold, claim: boolean): HeldKey {
  return {
    value: hold.value,
    modifyIndex: hold.acquiredIndex,
    claim,
    successorWaitMs: hold.successorWaitMs,
  };
}
