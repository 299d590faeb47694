import { Backoff } from '../time/backoff';
import type { Clock } from '../time/clock';
import type { ReadKeyRequest } from '../consul/consul-port';
import { classify } from '../consul/consul-request.error';
import type { ResolvedElectionOptions } from '../options/election-options';
import type { ElectionProblems } from '../state/election-problems';

/**
 * After a long poll answered early with nothing new, the next read starts no sooner than this (or
 * `retry.initialDelay`, if longer) after it did: at most 4 such reads a second, whatever Consul
 * answers. Nothing new: an index that did not move (an `X-Consul-Index` of 0 or none counts as 1,
 * so it never moves), one that went back, or an index that moved for writes elsewhere (an absent
 * key wakes on every write to any key). Consul's blocking-query
 * guidance asks clients to rate-limit such answers, which otherwise make a tight loop. An answer
 * that shows a change is followed at once: a release seen right after an operator's write is acted
 * on within milliseconds, and each such read costs Consul no more than the write it follows.
 */
const MIN_PACED_READ_INTERVAL_MS = 250;

/** What a blocking-query loop needs of the election that runs it. */
export interface WatchContext {
  readonly options: ResolvedElectionOptions;
  readonly clock: Clock;
  /** Aborted at stop: ends every loop and cancels its pending read. */
  readonly lifetime: AbortSignal;
  readonly problems: ElectionProblems;
  running(): boolean;
  /** Resolves after `ms`, or at once when the election stops. */
  sleep(ms: number): Promise<void>;
}

/**
 * Lets the owner of a watch cut its pending read short and start over without an index, when it
 * learns by other means that the index may be ahead of the store (a wiped agent): an answer from
 * before the restart can still arrive after it, so no failed read tells the loop.
 */
export class WatchRestart {
  private controller = new AbortController();
  private fromScratch = false;

  /** Cuts the pending read short; the next read starts without an index. */
  restart(): void {
    this.fromScratch = true;
    this.controller.abort();
  }

  /** For the next read: the signal that cuts it short, and whether it must start without an index. */
  next(): { readonly signal: AbortSignal; readonly fromScratch: boolean } {
    this.controller = new AbortController();
    const fromScratch = this.fromScratch;
    this.fromScratch = false;
    return { signal: this.controller.signal, fromScratch };
  }
}

/** A blocking-query loop with Consul's index rules and capped, jittered backoff on errors. */
/**
 * One read sooner than the pace per this window: a second as another machine's clock may count it
 * (a clock may run up to 1 % fast, SAFETY.md), with a timer's early fire.
 */
const SOON_READ_WINDOW_MS = 1_000 * 1.01 + 5;

/** When a loop last read, and when it last read sooner than the pace after the read before. */
export interface ReadPace {
  lastAt: number | null;
  soonAt: number | null;
}

export function newReadPace(): ReadPace {
  return { lastAt: null, soonAt: null };
}

export async function blockingWatch<T extends { readonly index: number }>(
  election: WatchContext,
  source: 'watch' | 'candidates',
  read: (request: ReadKeyRequest) => Promise<T>,
  /** `continuous`: this read follows a successful one without the index going back. */
  onRead: (result: T, receivedAt: number, continuous: boolean) => unknown,
  options: {
    until?: AbortSignal;
    /**
     * Whether two answers show the same (for the key, its entry): an early answer the same as the
     * one before is paced (see {@link MIN_PACED_READ_INTERVAL_MS}); always true paces them all.
     */
    same: (previous: T, current: T) => boolean;
    /** After a failed read: what the last read showed may describe a store that is gone. */
    onFailure?: (error: unknown) => void;
    restarts?: WatchRestart;
    /**
     * The loop's pace, kept by its owner across the loop's runs: a watch started again soon after
     * the last one ended (the candidates watch of a hold that follows another within a second)
     * keeps the pace of the last run instead of starting afresh, or each run's first read and the
     * long poll after it would add up past the load promise.
     */
    pace?: ReadPace;
  },
): Promise<void> {
  const backoff = Backoff.forRetries(election.options.retry);
  const { watchWaitMs, requestTimeoutMs } = election.options;
  const signal = options.until
    ? AbortSignal.any([election.lifetime, options.until])
    : election.lifetime;
  const paceMs = Math.max(election.options.retry.initialDelayMs, MIN_PACED_READ_INTERVAL_MS);
  let index = 0;
  /** The last answer, while the reads go on without a failure or the index going back. */
  let previous: T | null = null;
  /** Since a failed read, until a long poll succeeds: the read without an index is paced too. */
  let recovering = false;
  const pace = options.pace ?? null;
  while (election.running() && !signal.aborted) {
    if (pace) {
      // A watch its owner starts again and again (the candidates watch, once per hold) keeps the
      // load promise across its runs (SAFETY.md, "Load"): a read comes at least the pace after the
      // one before, but for one a second that may follow at once (a run's first read and the long
      // poll after it). The key watch runs once per election and follows a change at once, so that
      // a release is acted on within milliseconds (the documented exception).
      const sinceLast = pace.lastAt === null ? Infinity : election.clock.now() - pace.lastAt;
      if (sinceLast < paceMs) {
        if (pace.soonAt !== null && election.clock.now() - pace.soonAt < SOON_READ_WINDOW_MS) {
          await election.sleep(paceMs - sinceLast);
          if (!election.running() || signal.aborted) return;
        } else pace.soonAt = election.clock.now();
      }
    }
    const startedAt = election.clock.now();
    if (pace) pace.lastAt = startedAt;
    const turn = options.restarts?.next();
    if (turn?.fromScratch) index = 0;
    try {
      const result = await read({
        index,
        waitMs: watchWaitMs,
        // A blocking query is a long poll: Consul adds up to wait/16 of jitter before answering.
        // The first read (index 0) answers at once: a lost one must not blind us for the whole wait.
        timeoutMs:
          index > 0 ? watchWaitMs + watchWaitMs / 16 + requestTimeoutMs + 5_000 : requestTimeoutMs,
        signal: turn ? AbortSignal.any([signal, turn.signal]) : signal,
      });
      if (!election.running() || signal.aborted) return;
      election.problems.reportSuccess(source);
      const readIndex = index;
      const blocking = readIndex > 0;
      // Only a blocking read that succeeds says the long polls work again: when they alone fail (a
      // proxy or rate limiter that refuses them), the read without an index that follows each
      // failure succeeds, and resetting on it would keep the backoff at its shortest for ever.
      if (blocking) backoff.reset();
      // An index of 0, or none (a proxy that drops the header), counts as 1 (Consul's guidance):
      // as "went backwards" it would alternate reads at 0 and 1 that both answer at once.
      const answered = result.index > 0 ? result.index : 1;
      // Indexes can go backwards (agent restart, snapshot restore): start over rather than block forever.
      const backwards = answered < readIndex;
      index = backwards ? 0 : answered;
      const receivedAt = election.clock.now();
      onRead(result, receivedAt, blocking && !backwards);
      // Never spin on a long poll answered early with nothing new (MIN_PACED_READ_INTERVAL_MS).
      const nothingNew =
        answered <= readIndex || (previous !== null && options.same(previous, result));
      previous = backwards ? null : result;
      // After a failure, the long poll waits out the pace after the read without an index: where
      // only long polls fail, a cycle is then two reads in no less than twice the pace.
      if (blocking) recovering = false;
      const paced = blocking ? nothingNew : recovering;
      if (paced && receivedAt - startedAt < paceMs)
        await election.sleep(paceMs - (receivedAt - startedAt));
    } catch (error) {
      if (!election.running() || signal.aborted) {
        if (source === 'candidates') election.problems.reportSuccess('candidates');
        return;
      }
      // Cut short by WatchRestart.restart(): read afresh at once.
      if (turn?.signal.aborted) continue;
      election.problems.reportProblem(
        source,
        classify(error, source === 'watch' ? 'key watch' : 'candidates watch'),
      );
      // Never trust the old index after a failed read: an agent that restarted empty holds a query
      // whose index is ahead of its store for the whole wait (60 s by default) instead of answering.
      index = 0;
      previous = null;
      recovering = true;
      options.onFailure?.(error);
      await election.sleep(backoff.nextAfter(error));
    }
  }
}
