import type { Clock, TimerHandle } from '../../election/time/clock';
import { instantOf } from '../../election/protocol/lease';
import type { Lead, Leadership } from '../leadership';
import type { OwnerHold } from './owner-hold';

/**
 * One job's {@link Leadership} when jobs are spread: this instance "leads" the job while it owns
 * it. `Lead.electionKey` is the job's owner key, so the JobRunner's claim transaction fences on the
 * ownership unchanged (its `check-session` then asks Consul whether this session still holds the
 * owner key). A Lead is valid only while the hold's lease is (checked on both clocks at every
 * `current()`), and its signal is aborted at the lease's end, when the hold is lost, or when the
 * job is handed over.
 */
export class JobLeadership implements Leadership {
  private hold: OwnerHold | null = null;
  private lead: (Lead & { readonly controller: AbortController }) | null = null;
  private deadline: TimerHandle | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly job: string,
    private readonly clock: Clock,
  ) {}

  current(): Lead | null {
    const lead = this.lead;
    if (!lead || lead.signal.aborted || !this.hold) return null;
    return this.hold.lease.isValidAt(this.clock.now(), this.clock.wallNow()) ? lead : null;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Gives the Lead of `hold` (its act time reached, its lease valid). */
  begin(hold: OwnerHold): void {
    this.end('superseded');
    const controller = new AbortController();
    this.hold = hold;
    hold.acted = true;
    this.lead = {
      electionKey: hold.key,
      sessionId: hold.sessionId,
      signal: controller.signal,
      controller,
    };
    this.armDeadline();
    this.notify();
  }

  /** The hold's lease was confirmed: the Lead lasts longer. */
  extended(): void {
    if (this.lead) this.armDeadline();
  }

  /** Ends the Lead (no-op without one); `reason` is the signal's abort reason. */
  end(reason: string): void {
    if (this.deadline) this.clock.clearTimer(this.deadline);
    this.deadline = null;
    const lead = this.lead;
    this.lead = null;
    this.hold = null;
    if (!lead) return;
    lead.controller.abort(new Error(`job "${this.job}": ${reason}`));
    this.notify();
  }

  /** Aborts the signal when the lease runs out by either clock, unless a confirmation extended it. */
  private armDeadline(): void {
    if (this.deadline) this.clock.clearTimer(this.deadline);
    const hold = this.hold!;
    this.deadline = this.clock.setTimer(
      () => {
        this.deadline = null;
        if (this.hold !== hold) return;
        if (hold.lease.remainingAt(instantOf(this.clock)) > 0) this.armDeadline();
        else this.end('lease ran out');
      },
      hold.lease.remainingAt(instantOf(this.clock)),
    );
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
