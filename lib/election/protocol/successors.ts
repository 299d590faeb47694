import { Backoff } from '../time/backoff';
import { blockingWatch, newReadPace, type WatchContext } from '../watch/blocking-watch';
import type { Candidate } from '../consul/consul-port';
import { ConsulRequestError } from '../consul/consul-request.error';
import type { ElectionContext } from './election-context';
import type { TimerSlot } from '../time/election-timers';
import { ElectionMessages } from '../election.messages';
import type { Holding } from './holding';
import type { Observation } from '../watch/key-watch';
import { decodeLeaderValue, encodeLeaderValue, type LeaderValue } from './leader-value';
import { SUCCESSION_LIST_LENGTH, sameSuccessors, successorsOf } from './succession';

/** What the successor naming needs of the election. */
export interface SuccessorHost extends ElectionContext {
  readonly watchContext: WatchContext;
  /** Whether `holding` is still this instance's hold. */
  holds(holding: Holding): boolean;
}

/**
 * The leader's part of the succession order (succession.ts): it watches the live candidates and
 * rewrites the key's value (same session, same token) when the order changes, and once the hold's
 * term began, to advertise only its own lease (holding.ts, successorWaitMs); and it writes its own
 * value back when someone else's is found under its session.
 *
 * A rewrite whose outcome is unknown (no answer within requestTimeout) is not left at that: its
 * request may never have reached Consul, and then nothing wakes a watch to try again. So every
 * failed rewrite is retried with the capped backoff until the key shows what the hold wants in it;
 * one that did go through is learned from the hold's read of the key (see {@link found}), and the
 * retry, conditioned on the old index, is refused.
 */
export class SuccessorNaming {
  private rewriting = false;
  /** The last candidates the catalog named while `holding` held the key. */
  private latest: { holding: Holding; candidates: readonly Candidate[] } | null = null;
  /** The key showed someone else's value under `holding`'s session at `index`: ours must be written back. */
  private overwritten: { holding: Holding; index: number } | null = null;
  /** The hold whose value we last wrote back, until the key is seen with our value. */
  private wroteBack: Holding | null = null;
  /** A hold whose value must advertise the lease it owes now (its term began, or the catalog named a longer one). */
  private acting: Holding | null = null;
  private readonly retry: TimerSlot;
  private readonly backoff: Backoff;
  /** The candidates watch's pace, across holds: the next hold's watch keeps it. */
  private readonly candidatesPace = newReadPace();

  constructor(private readonly host: SuccessorHost) {
    this.retry = host.timers.slot();
    this.backoff = Backoff.forRetries(host.options.retry);
  }

  /**
   * While this instance holds the key, keeps the succession order in it current: the live
   * candidates from the catalog, read by the leader alone (see succession.ts).
   */
  watch(holding: Holding): Promise<void> {
    const serviceName = this.host.options.healthCheck!.serviceName;
    this.backoff.reset();
    return blockingWatch(
      this.host.watchContext,
      'candidates',
      (request) => this.host.port.readCandidates(serviceName, request),
      // By key, not by service name alone: a user may give two keys one `serviceName`.
      (read) => {
        this.latest = {
          holding,
          candidates: read.candidates.filter(
            (candidate) => candidate.leaderKey === this.host.options.key,
          ),
        };
        this.checkVisible(holding, this.latest.candidates);
        void this.sync();
      },
      {
        until: holding.ended.signal,
        // Every early answer is paced, changes too: the order in the key may lag the catalog by the
        // pace, which changes who is named next, never who may act. Followed at once, candidates
        // that register and vanish in a loop (their checks refused) made this watch, and the
        // rewrite after each of its reads, run at the pace of their writes (simulator seed 926).
        same: () => true,
        pace: this.candidatesPace,
      },
    ).finally(() => this.host.problems.reportSuccess('succession'));
  }

  /**
   * A leader whose session is bound to its check has its service and passing check in the catalog
   * (Consul binds a session only to a check it knows passing). Missing from the passing candidates,
   * it was filtered out: the token may not read its node, and the succession order stays empty
   * without any error from Consul.
   */
  private checkVisible(holding: Holding, candidates: readonly Candidate[]): void {
    if (holding.session.checkId === null) return;
    if (candidates.some((candidate) => candidate.instanceId === this.host.instanceId)) {
      this.host.problems.reportSuccess('succession');
      return;
    }
    const serviceName = this.host.options.healthCheck!.serviceName;
    this.host.problems.reportProblem(
      'succession',
      new ConsulRequestError(
        'forbidden',
        'candidates read',
        ElectionMessages.candidatesHidden(serviceName),
      ),
    );
  }

  /**
   * The hold's read of the key found a newer entry under our session. Our own value (the same but
   * for the successors, and for the lease our term began to owe) is a rewrite of ours whose answer was lost: it is what the key holds now,
   * and the hold takes it as its value (a release writes the hold's value: with the old successors
   * it would send the named successor to the back of the queue). Any other value is written back.
   */
  found(holding: Holding, value: LeaderValue | null, index: number): void {
    if (value && (isOwnRewrite(holding.value, value) || isOwnRewrite(advertised(holding), value))) {
      holding.value = value;
      // Our value at an index after the one overwritten: a write-back of ours whose answer was
      // lost landed. Left set, the write-back would go on, once per lost answer (slow commits).
      if (this.overwritten?.holding === holding && this.overwritten.index < index)
        this.overwritten = null;
      this.backoff.reset();
      this.wroteBack = null;
      return void this.sync();
    }
    this.overwritten = { holding, index };
    // Overwritten again before the key was seen with our value: never write back at the pace of
    // the reads (were our own writes ever taken for someone else's, that would be a storm).
    if (this.wroteBack === holding) return this.paced();
    void this.sync();
  }

  /**
   * The term of `holding` began: the key's `leaseMs` drops to the lease it owes now, which a
   * rewrite (sent only now, conditioned on our session's hold) tells followers: one that reads it
   * knows the longer lease we waited out is over.
   */
  termBegan(holding: Holding): void {
    this.leaseOwed(holding);
  }

  /**
   * `holding` owes its successor another lease than its value advertises: its term began (its own
   * D from then on), or the catalog named a longer lease before it (candidate-leases.ts).
   */
  leaseOwed(holding: Holding): void {
    this.acting = holding;
    void this.sync();
  }

  /** The next write-back of a value overwritten again since our last one, after the backoff. */
  private paced(): void {
    if (!this.retry.armed) this.retry.arm(() => void this.sync(), this.backoff.next());
  }

  /**
   * The value a release of `holding` writes: its value with the successors the catalog named last,
   * whether or not a rewrite of them was answered (one still on its way when the hold ended may land
   * before the release, which then finds the key changed and releases what it holds at its index).
   */
  releaseValue(holding: Holding): LeaderValue {
    return this.wanted(holding) ?? holding.value;
  }

  /** What the key should hold for `holding`, or null when it already does. */
  private wanted(holding: Holding): LeaderValue | null {
    const value = advertised(holding);
    if (this.latest?.holding === holding) {
      const successors = successorsOf(
        this.latest.candidates,
        this.host.instanceId,
        holding.previousHolder,
      );
      if (!sameSuccessors(value.successors, successors)) return { ...value, successors };
    }
    if (value !== holding.value) return value;
    return this.overwritten?.holding === holding ? value : null;
  }

  /** One rewrite at a time; a failed one is tried again with the backoff, a done one looks again. */
  private async sync(): Promise<void> {
    const holding = [this.overwritten?.holding, this.latest?.holding, this.acting].find(
      (held): held is Holding => !!held && this.host.holds(held),
    );
    if (this.rewriting || !holding) return;
    const value = this.wanted(holding);
    if (!value) return;
    this.retry.clear();
    this.rewriting = true;
    const writeBack = this.overwritten?.holding === holding;
    let outcome: number | unknown;
    try {
      outcome = await this.rewriteValue(
        holding,
        value,
        writeBack ? "write the leader's value back" : 'update the successors',
      );
    } finally {
      this.rewriting = false;
    }
    // The hold ended while we waited: a newer hold's work, dropped while we were rewriting, goes on.
    if (!this.host.holds(holding)) return void this.sync();
    if (typeof outcome === 'number') {
      // Our whole value is in the key again, unless someone wrote over it after our write.
      if (this.overwritten && this.overwritten.index < outcome) this.overwritten = null;
      if (!writeBack) this.backoff.reset();
      else {
        this.wroteBack = holding;
        if (this.overwritten?.holding === holding) return this.paced();
      }
      return void this.sync();
    }
    this.retry.arm(() => void this.sync(), this.backoff.nextAfter(outcome));
  }

  /**
   * Rewrites the key's value under our session, conditioned on the index we last saw it at: the
   * entry's new index once Consul applied it, else why not (an error, or null: the key changed since).
   */
  private async rewriteValue(
    holding: Holding,
    value: LeaderValue,
    what: string,
  ): Promise<number | unknown> {
    try {
      const modifyIndex = await this.host.port.rewriteHeld(
        {
          key: this.host.options.key,
          sessionId: holding.session.id,
          value: encodeLeaderValue(value),
          expectedModifyIndex: holding.acquiredIndex,
        },
        this.host.options.requestTimeoutMs,
      );
      if (modifyIndex === null) return null;
      if (this.host.holds(holding)) {
        holding.acquiredIndex = Math.max(holding.acquiredIndex, modifyIndex);
        holding.value = value;
      }
      return modifyIndex;
    } catch (error) {
      this.host.logger.debug?.(
        ElectionMessages.valueNotRewritten(this.host.options.key, what, String(error)),
      );
      return error;
    }
  }
}

/** The hold's value with the lease it owes now (holding.ts, successorWaitMs). */
function advertised(holding: Holding): LeaderValue {
  if (holding.value.leaseMs === holding.successorWaitMs) return holding.value;
  // Only after our term began may a follower take our lease for shorter than one it remembers
  // (KeyWatch). A value that already named our own D is not rewritten for the flag alone: a
  // follower that remembers longer keeps waiting that out after a deletion, longer, never shorter.
  return {
    ...holding.value,
    leaseMs: holding.successorWaitMs,
    ...(holding.leaseIsOwn ? { termBegan: true as const } : {}),
  };
}

/**
 * Whether `found` is `ours` with other successors: all a rewrite of ours changes. An operator's
 * copy of our value (our id and token in it) that changed anything else is not ours to keep: its
 * `leaseMs` or metadata would stand for our hold (a follower's wait reads `leaseMs`).
 */
export function isOwnRewrite(ours: LeaderValue, found: LeaderValue): boolean {
  const normal = (value: LeaderValue): string =>
    encodeLeaderValue(decodeLeaderValue(encodeLeaderValue({ ...value, successors: [] }))!);
  return normal(ours) === normal(found);
}

/**
 * The last holder's successors without us, and the last holder itself at the end if it left alive
 * (released): what our own watch of the candidates will find too unless the candidates changed, so
 * the key is usually not rewritten after a failover.
 */
export function inheritSuccessors(observation: Observation, instanceId: string): string[] {
  const previous = decodeLeaderValue(observation.entry?.value ?? null);
  const others = (previous?.successors ?? []).filter(
    (id) => id !== instanceId && id !== previous?.instanceId,
  );
  if (!previous?.releasedAt || previous.instanceId === instanceId) {
    return others.slice(0, SUCCESSION_LIST_LENGTH);
  }
  return [...others.slice(0, SUCCESSION_LIST_LENGTH - 1), previous.instanceId];
}
