import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { ElectionEvent } from './election-event';
import { initialLeadershipState, type LeadershipState } from './leadership-state';

/**
 * What the election shows the outside: the state stream (replayed), the event stream (not replayed)
 * and the first settled outcome. Every part of the election publishes through this one object.
 */
export class StatePublisher {
  /** Replays the current state; emits on every transition and renewal; completes at {@link complete}. */
  readonly state$: Observable<LeadershipState>;
  /** Transitions with their reason, confirmation round trips and failed requests, as they happen. */
  readonly events$: Observable<ElectionEvent>;
  private readonly subject: BehaviorSubject<LeadershipState>;
  private readonly events = new Subject<ElectionEvent>();
  private settled = false;
  private readonly settledWaiters: Array<(state: LeadershipState) => void> = [];

  constructor(instanceId: string) {
    this.subject = new BehaviorSubject(initialLeadershipState(instanceId));
    this.state$ = this.subject.asObservable();
    this.events$ = this.events.asObservable();
  }

  get state(): LeadershipState {
    return this.subject.getValue();
  }

  publish(patch: Partial<LeadershipState>): void {
    if (this.subject.closed) return;
    this.subject.next({ ...this.subject.getValue(), ...patch });
  }

  emit(event: ElectionEvent): void {
    if (!this.events.closed) this.events.next(event);
  }

  /** The first outcome is known: leader, a follower that has read the key, or a problem with Consul. */
  markSettled(): void {
    if (this.settled) return;
    this.settled = true;
    const state = this.state;
    for (const resolve of this.settledWaiters.splice(0)) resolve(state);
  }

  /** Resolves at the first outcome, at once when there was one (or the streams completed). */
  whenSettled(): Promise<LeadershipState> {
    if (this.settled || this.subject.closed) return Promise.resolve(this.state);
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Resolves once the streams have completed. */
  whenCompleted(): Promise<void> {
    if (this.subject.closed) return Promise.resolve();
    return new Promise((resolve) => this.subject.subscribe({ complete: () => resolve() }));
  }

  /** Settles waiters and completes both streams: the election has stopped. */
  complete(): void {
    this.markSettled();
    this.subject.complete();
    this.events.complete();
  }
}
