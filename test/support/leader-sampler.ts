import type { LeaderElection } from '../../lib/election';

/** An instant at which more than one election's `isLeader()` was true. */
export interface DoubleLeader {
  /** `performance.now()` of the sample. */
  readonly at: number;
  readonly leaders: readonly string[];
}

/**
 * Asks every election `isLeader()` every `everyMs` ms — what leader-only work itself asks before it
 * acts — and keeps the instants at which two or more said yes. Independent of the state stream.
 */
export class LeaderSampler {
  readonly doubles: DoubleLeader[] = [];
  /** First sample at which each instance said yes. */
  readonly firstLed = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly elections: readonly LeaderElection[],
    everyMs = 2,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const at = performance.now();
    const leaders = this.elections.filter((e) => e.isLeader()).map((e) => e.instanceId);
    for (const id of leaders) if (!this.firstLed.has(id)) this.firstLed.set(id, at);
    if (leaders.length > 1) this.doubles.push({ at, leaders });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
