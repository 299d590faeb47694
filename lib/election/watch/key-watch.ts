import { blockingWatch, WatchRestart, type WatchContext } from './blocking-watch';
import type { ConsulPort, KeyEntry } from '../consul/consul-port';
import { decodeLeaderValue, type LeaderValue } from '../protocol/leader-value';
import type { SeenHolder } from '../protocol/takeover';

/** One read of the key, as this instance keeps it. */
export interface Observation {
  readonly entry: KeyEntry | null;
  /** `X-Consul-Index` of the read that produced it. */
  readonly index: number;
  /** Monotonic time at which this instance received it (the first sighting, for the same free entry). */
  readonly observedAt: number;
  /**
   * Monotonic time at which this instance first saw the key free in this vacancy, kept across
   * answers that show it still free: the succession ranks count from it. For an absent key it
   * survives index moves (writes to other keys wake the read), which `observedAt` does not.
   */
  readonly freeSeenAt: number;
  /** The hold this instance had seen on the key before this read (vacancyOf binds a marker to it). */
  readonly heldBefore: SeenHolder | null;
}

/**
 * The watch of the key: one blocking query after another for as long as the election runs, leader
 * or not. Keeps the last observation (with the first sighting of a vacancy), the hold last seen on
 * the key and the lease the last other holder wrote, and hands each read to the election.
 */
export class KeyWatch {
  private last: Observation | null = null;
  /**
   * The lease the last other hold we saw wrote into the key: an absent key's successor waits it out
   * too. The latest one counts even when it is shorter only when its holder's term had begun
   * (`termBegan`): the longer lease it had waited out was over (SAFETY.md, rule 2). A holder before
   * its term may not have known a longer lease at all (it came after the key was deleted), so its
   * value only lengthens what we remember.
   */
  lastHolderLeaseMs: number | undefined;
  /** The hold we last saw on the key (session and token), to which a marker must be bound (vacancyOf). */
  private lastHolder: SeenHolder | null = null;
  private readonly restarts = new WatchRestart();
  /**
   * The vacancy we were waiting in when the watch restarted (its entry's ModifyIndex, null for an
   * absent key, and our first sighting of it), until the first fresh read: see {@link restart}.
   */
  private vacancyBeforeRestart: { modifyIndex: number | null; freeSeenAt: number } | null = null;

  constructor(
    private readonly election: WatchContext,
    private readonly port: ConsulPort,
    /** Our session's id, if we have one: the values of our own hold tell us nothing of a predecessor. */
    private readonly ownSession: () => string | undefined,
    private readonly events: {
      onRead(observation: Observation, holderValue: LeaderValue | null): void;
      onForget(): void;
      /** A read failed (after onForget): a refusal for rights may concern a hold we cannot see. */
      onReadFailed(error: unknown): void;
    },
  ) {}

  /**
   * A term of ours began: whoever held the key before us has stopped acting, so what we remember of
   * their lease is owed by nobody any more; our own D is owed in any case. Else an instance that led
   * through a rolling change would wait out the old lease after each deletion of its key, and write
   * it into the key again with its acquire, for as long as it sees no other hold's value.
   */
  termBegan(): void {
    this.lastHolderLeaseMs = undefined;
  }

  /** The last read of the key; null until the first, and after a failed read. */
  get observation(): Observation | null {
    return this.last;
  }

  /** One blocking query on the key after another, for as long as the election runs, leader or not. */
  watch(): Promise<void> {
    return blockingWatch(
      this.election,
      'watch',
      (request) => this.port.readKey(this.election.options.key, request),
      (read, at, continuous) =>
        this.observe(
          {
            entry: read.entry,
            index: read.index,
            observedAt: at,
            freeSeenAt: at,
            heldBefore: null,
          },
          continuous,
        ),
      {
        same: (previous, current) => previous.entry?.modifyIndex === current.entry?.modifyIndex,
        onFailure: (error) => {
          this.forget();
          this.events.onReadFailed(error);
        },
        restarts: this.restarts,
      },
    );
  }

  /**
   * The agent may have forgotten its state (it no longer knows our session: a dev agent restarted
   * empty): the watch's index may be ahead of the new store, where a blocking read is held for the
   * whole wait, and an answer from before the restart can arrive after it (a paused process, a late
   * delivery), so no failed read told the watch. It forgets what it saw and reads afresh, without
   * an index.
   */
  restart(): void {
    // Consul no longer knows our session (a renewal answered 404, an acquire at our succession turn
    // was refused for it: an operator or a failed check destroyed it while we followed). If the
    // fresh read shows the key free as before, our place in the succession still counts from our
    // first sighting: the ranks decide only when to try, never when to act (the act time counts
    // from the fresh read, `observedAt`), so nothing else carries over. Else the new session waited
    // its turn again (simulator seed 17001: a second 6 × 285 ms after a resign, 3.4 s for 2.8 s).
    const last = this.last;
    this.vacancyBeforeRestart =
      last && !last.entry?.session
        ? { modifyIndex: last.entry?.modifyIndex ?? null, freeSeenAt: last.freeSeenAt }
        : null;
    this.forget();
    this.restarts.restart();
  }

  /**
   * After a failed read the last observation may describe a store that is gone (an agent that
   * restarted, a restore): its ModifyIndex may name another entry by now, and an acquire conditioned
   * on it could succeed on a later vacancy. Campaigns wait for a fresh read.
   */
  private forget(): void {
    this.last = null;
    this.events.onForget();
  }

  private observe(fresh: Observation, continuous: boolean): void {
    // After a failed read or an index that went back (an agent that restarted, a restore), the same
    // ModifyIndex may name another entry: nothing of the earlier sighting carries over.
    // The hold seen before this read, which a marker in it must name: kept with the observation,
    // since by the time our acquire is answered the watch may have shown our own hold.
    const seen = { ...fresh, heldBefore: this.lastHolder };
    const before = this.vacancyBeforeRestart;
    this.vacancyBeforeRestart = null;
    const observation = continuous
      ? continueVacancy(this.last, seen)
      : before && sameVacancy(before.modifyIndex, seen.entry)
        ? { ...seen, freeSeenAt: before.freeSeenAt }
        : seen;
    this.last = observation;
    const { entry } = observation;
    const holderValue = entry ? decodeLeaderValue(entry.value) : null;
    // Remember the lease the last other hold wrote: if its key is then deleted, its successor must
    // still wait it out (takeover.ts, leaseWaitMs). Other by session, not by instance id: a process
    // restarted with our id (a StatefulSet pod) may have run with a longer lease, and is still
    // acting if it was cut off. A value under our own session is our hold's (or an operator's write
    // over it), never a predecessor's: it must not replace what we know of the one before.
    // A plain PUT or an import (LockIndex 0) is an operator's, bound by no rule of ours: its lease
    // may lengthen what we know, never shorten it (a backup's shorter lease is no proof that the
    // holder before has stopped). Nor may a holder's whose term had not begun: one that started, or
    // was cut off, while the longer-lease holder held the key and took it after a deletion knows
    // only its own D (simulator seed 989: a follower took that shorter lease from its hand-back and
    // acted beside the cut-off holder).
    const ownSession = this.ownSession();
    if (holderValue?.leaseMs && (!entry?.session || entry.session !== ownSession)) {
      this.lastHolderLeaseMs =
        entry!.lockIndex >= 1 && holderValue.termBegan
          ? holderValue.leaseMs
          : Math.max(this.lastHolderLeaseMs ?? 0, holderValue.leaseMs);
    }
    if (entry?.session) {
      // The term's token as first seen, kept across writes of the same hold that carry none (an
      // operator's plain PUT replaces the value): the holder's release will name that token.
      // A new term of the same session (a re-acquire) has a larger LockIndex and a token of its
      // own; a plain PUT (LockIndex 0) or a re-lock (same LockIndex) is the same term.
      const last = this.lastHolder;
      const sameTerm =
        !!last &&
        !last.ended &&
        last.session === entry.session &&
        (entry.lockIndex === 0 || entry.lockIndex === last.lockIndex);
      // Once the term's token is known, a plain PUT within the term (LockIndex 0) cannot lower it:
      // an operator's import of an earlier release of the same session carries that term's smaller
      // token, and with it the marker would name the hold we saw (the holder's own write-back only
      // ever carries the term's token, larger than any earlier term's).
      const valueToken = holderValue?.token;
      const token =
        sameTerm && last.tokenKnown
          ? Math.max(last.token, valueToken ?? 0)
          : (valueToken ?? (sameTerm ? last.token : entry.modifyIndex));
      this.lastHolder = {
        session: entry.session,
        token,
        lockIndex: sameTerm && entry.lockIndex === 0 ? last.lockIndex : entry.lockIndex,
        tokenKnown:
          (sameTerm && !!last.tokenKnown) || valueToken !== undefined || entry.lockIndex > 0,
      };
    } else if (this.lastHolder && !this.lastHolder.ended) {
      // Free now: whoever holds it next, the same session included, holds it in a new term.
      this.lastHolder = { ...this.lastHolder, ended: true };
    }
    this.events.onRead(observation, holderValue);
  }
}

/**
 * The observation to keep after a fresh read. The same free entry seen again (a blocking query that
 * timed out, an early wake) keeps the time it was first seen: that sighting already came after the
 * vacancy, the acquire is conditioned on the entry being unchanged, and restarting the clock on each
 * answer would postpone the lock-delay wait for ever when watchWait < lockDelay. An absent key seen
 * absent again keeps only `freeSeenAt`: its index moves with every write to other keys, and the
 * succession ranks must not restart with each, but a key created and deleted in between leaves no
 * trace, so nothing else carries over (takeover.ts, actTime).
 */
function continueVacancy(previous: Observation | null, fresh: Observation): Observation {
  if (!previous || previous.entry?.session || fresh.entry?.session) return fresh;
  if (previous.entry && fresh.entry) {
    return previous.entry.modifyIndex === fresh.entry.modifyIndex
      ? {
          ...fresh,
          observedAt: previous.observedAt,
          freeSeenAt: previous.freeSeenAt,
          heldBefore: previous.heldBefore,
        }
      : fresh;
  }
  if (!previous.entry && !fresh.entry) return { ...fresh, freeSeenAt: previous.freeSeenAt };
  return fresh;
}

/**
 * Whether a fresh read shows the key free as it was: the same free entry (its ModifyIndex), or
 * absent again. A key created and deleted in between leaves no trace; that costs only an early try.
 */
function sameVacancy(modifyIndex: number | null, entry: KeyEntry | null): boolean {
  if (entry?.session) return false;
  return entry ? entry.modifyIndex === modifyIndex : modifyIndex === null;
}
