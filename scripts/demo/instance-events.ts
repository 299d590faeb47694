import { pollUntil } from '../../harness';
import { formatMs } from './demo-console';
import { StepFailed } from './demo-results';
import type { InstanceEvent, InstanceEventKind, SampleInstance } from './sample-instance';

/**
 * What the instances said, in order, and the waits on it: an event of a kind, or every instance
 * agreeing on one leader over GET /leader. A failure (an instance that exits unasked) ends every wait.
 */
export class InstanceEvents {
  private readonly events: InstanceEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly leading = new Set<SampleInstance>();
  private failure: Error | undefined;

  record(event: InstanceEvent): void {
    if (event.kind === 'became-leader') this.leading.add(event.instance);
    if (event.kind === 'stepped-down') this.leading.delete(event.instance);
    this.events.push(event);
    this.wake();
  }

  /** By its own log. */
  isLeading(instance: SampleInstance): boolean {
    return this.leading.has(instance);
  }

  exited(instance: SampleInstance): void {
    this.leading.delete(instance);
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake();
  }

  /** Lets every wait look again (at a stop, or a new event). */
  wake(): void {
    this.waiters.forEach((wake) => wake());
  }

  ticksSince(instance: SampleInstance, since: number): number {
    return this.events.filter((e) => e.kind === 'tick' && e.instance === instance && e.at >= since)
      .length;
  }

  /** The first event since `since` that matches, or a StepFailed after `timeoutMs`. */
  waitFor(
    what: string,
    kind: InstanceEventKind,
    match: (instance: SampleInstance) => boolean,
    since: number,
    timeoutMs: number,
  ): Promise<InstanceEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(
          (e) => e.at >= since && e.kind === kind && match(e.instance),
        );
        const failure =
          this.failure ??
          (performance.now() - since > timeoutMs
            ? new StepFailed(`${what}: not seen within ${formatMs(timeoutMs)}`)
            : undefined);
        if (!found && !failure) return;
        clearInterval(timer);
        this.waiters.delete(check);
        if (found) resolve(found);
        else reject(failure);
      };
      const timer = setInterval(check, 100);
      this.waiters.add(check);
      check();
    });
  }

  /** Polls GET /leader of `instances` until all answer, exactly one leads, and all name it. */
  async waitForAgreedLeader(
    instances: readonly SampleInstance[],
    timeoutMs: number,
  ): Promise<{ leader: SampleInstance; fencingToken: number | null }> {
    let last = 'no answer yet';
    const agreed = async (): Promise<
      { leader: SampleInstance; fencingToken: number | null } | undefined
    > => {
      if (this.failure) throw this.failure;
      const statuses = await Promise.all(instances.map((i) => i.status()));
      const leaders = statuses.filter((s) => s?.isLeader);
      if (statuses.some((s) => s === undefined)) {
        last = `${statuses.filter((s) => s === undefined).length} instance(s) not answering yet`;
      } else if (leaders.length !== 1) {
        last = `${leaders.length} instances say they lead`;
      } else if (!statuses.every((s) => s?.leader?.instanceId === leaders[0]!.instanceId)) {
        last = `they disagree: ${statuses.map((s) => `${s!.instanceId}→${s!.leader?.instanceId ?? 'nobody'}`).join(', ')}`;
      } else {
        const leader = instances.find((i) => i.name === leaders[0]!.instanceId)!;
        return { leader, fencingToken: leaders[0]!.fencingToken };
      }
      return undefined;
    };
    return pollUntil('an agreed leader', agreed, { timeoutMs, intervalMs: 200 }).catch((error) => {
      if (this.failure && error === this.failure) throw error;
      throw new StepFailed(`no agreed leader within ${formatMs(timeoutMs)} (${last})`);
    });
  }
}
