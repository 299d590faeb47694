import { blockingWatch, type WatchContext } from './blocking-watch';
import type { Candidate } from './consul-port';
import type { ElectionContext } from './election-context';
import { ElectionMessages } from './election.messages';
import type { Holding } from './holding';
import type { Observation } from './key-watch';
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
 * rewrites the key's value (same session, same token) when the order changes; and it writes its own
 * value back when someone else's is found under its session.
 */
export class SuccessorNaming {
  private namingSuccessors = false;
  private pendingSuccessors: { holding: Holding; candidates: readonly Candidate[] } | null = null;

  constructor(private readonly host: SuccessorHost) {}

  /**
   * While this instance holds the key, keeps the succession order in it current: the live
   * candidates from the catalog, read by the leader alone (see succession.ts).
   */
  watch(holding: Holding): Promise<void> {
    const serviceName = this.host.options.healthCheck!.serviceName;
    return blockingWatch(
      this.host.watchContext,
      'candidates',
      (request) => this.host.port.readCandidates(serviceName, request),
      // By key, not by service name alone: a user may give two keys one `serviceName`.
      (read) =>
        this.nameSuccessors(
          holding,
          read.candidates.filter((candidate) => candidate.leaderKey === this.host.options.key),
        ),
      { until: holding.ended.signal },
    );
  }

  /** Rewrites the key's value (same session, same fencing token) when the succession order changed. */
  private async nameSuccessors(holding: Holding, candidates: readonly Candidate[]): Promise<void> {
    const successors = successorsOf(candidates, this.host.instanceId, holding.previousHolder);
    if (!this.host.holds(holding) || sameSuccessors(holding.value.successors, successors)) return;
    if (this.namingSuccessors) {
      this.pendingSuccessors = { holding, candidates };
      return;
    }
    this.namingSuccessors = true;
    try {
      await this.rewriteValue(holding, { ...holding.value, successors }, 'update the successors');
    } finally {
      this.namingSuccessors = false;
      const pending = this.pendingSuccessors;
      this.pendingSuccessors = null;
      if (pending) void this.nameSuccessors(pending.holding, pending.candidates);
    }
  }

  /** Rewrites the key's value under our session, conditioned on the index we last saw it at. */
  async rewriteValue(holding: Holding, value: LeaderValue, what: string): Promise<void> {
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
      if (modifyIndex !== null && this.host.holds(holding)) {
        holding.acquiredIndex = Math.max(holding.acquiredIndex, modifyIndex);
        holding.value = value;
      }
    } catch (error) {
      this.host.logger.debug?.(
        ElectionMessages.valueNotRewritten(this.host.options.key, what, String(error)),
      );
    }
  }
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
