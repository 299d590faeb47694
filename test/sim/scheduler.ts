// True time of a simulated run: one queue of events, ordered by time and then by the order they
// were scheduled, so the same seed always runs the same way. After each event that may wake the
// library's code, the microtask queue is drained (one macrotask turn: Node runs every microtask,
// and those they queue, before it), so a chain of awaits finishes before time moves on.

export interface SimEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  /** Pure bookkeeping (sampling): no library code runs, no drain needed. */
  readonly quiet: boolean;
  cancelled: boolean;
}

export class Scheduler {
  now = 0;
  events = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];

  at(at: number, run: () => void, quiet = false): SimEvent {
    const event: SimEvent = {
      at: Math.max(at, this.now),
      seq: this.seq++,
      run,
      quiet,
      cancelled: false,
    };
    this.push(event);
    return event;
  }

  after(delayMs: number, run: () => void, quiet = false): SimEvent {
    return this.at(this.now + Math.max(0, delayMs), run, quiet);
  }

  /** Runs events up to `until` (true ms); `afterEach` runs after each one (the checker's sampling). */
  async runUntil(
    until: number,
    afterEach: () => void,
    maxEvents: number,
    /** Ends the run early, checked after each event. */
    stopWhen: () => boolean = () => false,
  ): Promise<void> {
    // Whatever the caller set going (a probe's resign(), a start()) runs now, before time moves.
    await drainMicrotasks();
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > until) break;
      this.pop();
      if (next.cancelled) continue;
      this.now = next.at;
      this.events += 1;
      if (this.events > maxEvents) throw new RunawayError(this.events, this.now);
      next.run();
      if (!next.quiet) await drainMicrotasks();
      afterEach();
      if (stopWhen()) return;
    }
    this.now = Math.max(this.now, until);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }
}

export class RunawayError extends Error {
  constructor(events: number, at: number) {
    super(`runaway: ${events} events by ${at.toFixed(1)} ms of simulated time`);
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
