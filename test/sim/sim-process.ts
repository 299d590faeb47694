// One candidate's process in a simulated run: its own clock (a rate within the 1% the design
// allows, timers that fire a little early or late), its own network path to the agent (lost
// requests, lost or late answers, a partition, a proxy's error answers), and the process states
// a fault can put it in: paused (timers and I/O frozen), crashed (gone for good).
import type { Clock, LeadershipState, TimerHandle } from '../../lib/election';
import type { ConsulModel, ModelAnswer } from '../support/consul-model';
import { ModelUnavailableError } from '../support/consul-model';
import {
  socketError,
  timeoutError,
  type ModelRequest,
  type ModelTransport,
} from '../support/model-consul-client';
import type { Prng } from '../support/prng';
import type { Scheduler, SimEvent } from './scheduler';
import { AnswerFaults } from './answer-faults';
import { loopOf } from './load-bound';

/** What the network does to this process's requests right now (set and cleared by faults). */
export interface NetworkFaults {
  /** The link to the agent is cut: traffic either way waits (see {@link SimProcess.reconnect}). */
  partitioned: boolean;
  loseRequests: number;
  loseAnswers: number;
  /** Probability that an answer is held back, and for how long (true ms). */
  slowAnswers: { p: number; minMs: number; maxMs: number } | null;
  /**
   * Slow Raft commits: the answers to KV writes (write transactions) come this late, though Consul
   * applies them; reads, sessions and the agent answer as usual.
   */
  slowWrites: { minMs: number; maxMs: number } | null;
  /** A proxy in front of Consul answers this status instead of passing the request on. */
  errorStatus: number | null;
}

/** A maximal run of time in which a process published the same answer to "who leads?" (checker b). */
export interface PublishedRun {
  readonly process: string;
  /** The leader's instance id; null when nobody leads or none is known. */
  readonly leader: string | null;
  /** The leader's fencing token as this process published it; null with no leader. */
  readonly token: number | null;
  /** False: the process said it does not know who leads. */
  readonly known: boolean;
  readonly from: number;
  to: number;
}

/** A time the process's link was cut, in true ms (checker b). */
export interface Outage {
  readonly from: number;
  /** When the process first saw a request fail for it (a timeout): null if none did. */
  failedAt: number | null;
  /** When the link came back; null if it never did. */
  to: number | null;
}

export class SimProcess implements Clock {
  paused = false;
  crashed = false;
  readonly faults: NetworkFaults = {
    partitioned: false,
    loseRequests: 0,
    loseAnswers: 0,
    slowAnswers: null,
    slowWrites: null,
    errorStatus: null,
  };
  /**
   * Traffic held while the link is cut. The connection survives a partition (TCP retransmits), so
   * what was sent either way arrives once the link is back: a request whose client gave up may
   * still be carried out by Consul.
   */
  private held: Array<() => void> = [];
  /** What a proxy does to the answers' contents (answer-faults.ts). */
  readonly answerFaults = new AnswerFaults();
  /** True times at which this process sent a request (for the load check). */
  readonly requests: number[] = [];
  /** The same, of the requests whose loop is known (load-bound.ts, loopOf), by loop. */
  readonly loopRequests = new Map<string, number[]>();
  private frozen: Array<() => void> = [];
  private offset: number;
  /** What this process published about who leads, run by run, while it ran code (checker b). */
  readonly published: PublishedRun[] = [];
  private publishedRun: PublishedRun | null = null;
  /** The times its link was cut (checker b). */
  readonly outages: Outage[] = [];

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
    private readonly model: ConsulModel,
    private readonly random: Prng,
    /** Local seconds per true second (within the 1% the design allows between two machines). */
    private clockRate: number,
    private readonly trace: (line: string) => void,
  ) {
    this.offset = random.between(1_000, 100_000);
  }

  // ------------------------------------------------------------------ Clock

  /** Local seconds per true second. */
  get rate(): number {
    return this.clockRate;
  }

  now(): number {
    const trueNow = this.monoStoppedAt ?? this.scheduler.now;
    return this.offset + (trueNow - this.monoLostMs) * this.clockRate;
  }

  wallNow(): number {
    // A wall clock that runs while the monotonic one stands (a suspend) gains on it.
    const running =
      this.monoStoppedAt !== null && this.wallStoppedAt === null
        ? (this.scheduler.now - this.monoStoppedAt) * this.clockRate
        : 0;
    return Date.UTC(2026, 0, 1) + this.now() + this.wallOffsetMs + running;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    // Node fires a timer up to about a millisecond early against performance.now(), and late by
    // whatever else the process is doing.
    const skew = this.random.chance(0.2) ? this.random.between(-1, 3) : 0;
    return this.timerAfter(callback, delayMs, skew);
  }

  /**
   * A timer of the application's own code (simulated leader work) on this process's clock: no skew
   * drawn, so adding such work leaves the library's draws as they were.
   */
  setWorkTimer(callback: () => void, delayMs: number): TimerHandle {
    return this.timerAfter(callback, delayMs, 0);
  }

  private timerAfter(callback: () => void, delayMs: number, skew: number): TimerHandle {
    const trueDelay = Math.max(0, delayMs / this.clockRate + skew);
    const timer: SimTimer = {
      callback,
      epoch: this.clockEpoch,
      dueMono: this.now() + trueDelay * this.clockRate,
      event: null,
      cancelled: false,
    };
    timer.event = this.scheduler.after(trueDelay, () => this.fire(timer));
    this.pending.add(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as SimTimer;
    timer.cancelled = true;
    if (timer.event) timer.event.cancelled = true;
    this.parked.delete(timer);
    this.pending.delete(timer);
  }

  /**
   * A timer fires when the monotonic clock reaches its due time (libuv counts timers on it): a
   * clock that stood still or changed rate since it was set moves it in true time.
   */
  private fire(timer: SimTimer): void {
    timer.event = null;
    this.pending.delete(timer);
    if (timer.cancelled) return;
    if (timer.epoch !== this.clockEpoch) {
      if (this.monoStoppedAt !== null) return void this.parked.add(timer);
      const leftMs = timer.dueMono - this.now();
      if (leftMs > 0) {
        timer.epoch = this.clockEpoch;
        timer.event = this.scheduler.after(leftMs / this.clockRate, () => this.fire(timer));
        this.pending.add(timer);
        return;
      }
    }
    this.deliver(timer.callback);
  }

  // ------------------------------------------------------------------ clock faults

  /** True ms during which the monotonic clock stood still (a suspend, a VM pause). */
  private monoLostMs = 0;
  private monoStoppedAt: number | null = null;
  private wallStoppedAt: number | null = null;
  /** What wall-clock steps and suspends added to the wall clock, beyond the monotonic one. */
  private wallOffsetMs = 0;
  /** Bumped whenever the monotonic clock stops, starts or changes rate: timers set before recheck. */
  private clockEpoch = 0;
  /** Timers that came due by true time while the monotonic clock stood still. */
  private readonly parked = new Set<SimTimer>();
  /** Timers set and not yet fired: a faster clock brings them forward (see {@link setRate}). */
  private readonly pending = new Set<SimTimer>();

  /** The wall clock is stepped (NTP, an operator): the monotonic clock does not notice. */
  stepWallClock(byMs: number): void {
    this.wallOffsetMs += byMs;
  }

  /**
   * The machine stops: a suspend (the monotonic clock stands, the wall clock runs on) or, with
   * `wallToo`, a VM paused by its hypervisor (both stand; the guest's clocks resume where they were).
   * The process runs nothing until {@link resumeClocks}.
   */
  stopClocks(wallToo: boolean): void {
    if (this.monoStoppedAt !== null) return;
    this.monoStoppedAt = this.scheduler.now;
    this.wallStoppedAt = wallToo ? this.scheduler.now : null;
    this.clockEpoch += 1;
    this.pause();
  }

  resumeClocks(): void {
    const stoppedAt = this.monoStoppedAt;
    if (stoppedAt === null) return;
    this.wallOffsetMs =
      this.wallNow() -
      Date.UTC(2026, 0, 1) -
      (this.offset + (stoppedAt - this.monoLostMs) * this.clockRate);
    this.monoLostMs += this.scheduler.now - stoppedAt;
    this.monoStoppedAt = null;
    this.wallStoppedAt = null;
    this.clockEpoch += 1;
    for (const timer of this.parked) this.fire(timer);
    this.parked.clear();
    this.resume();
  }

  /** The clock's rate changes (it stays continuous): within the design's 1%, a drift is no fault. */
  setRate(rate: number): void {
    const now = this.now();
    this.clockRate = rate;
    this.offset += now - this.now();
    this.clockEpoch += 1;
    // A timer due at a moment of the monotonic clock now comes at another true time: sooner on a
    // faster clock (a later one would only be rescheduled when it fired, late).
    if (this.monoStoppedAt !== null) return;
    for (const timer of [...this.pending]) {
      if (timer.event) timer.event.cancelled = true;
      timer.epoch = this.clockEpoch;
      timer.event = this.scheduler.after(Math.max(0, (timer.dueMono - now) / rate), () =>
        this.fire(timer),
      );
    }
  }

  // ------------------------------------------------------------------ process states

  /** Runs `callback` in this process now, later if it is paused, never if it crashed. */
  deliver(callback: () => void): void {
    if (this.crashed) return;
    if (this.paused) this.frozen.push(callback);
    else callback();
  }

  pause(): void {
    this.paused = true;
  }

  /** Pauses the process right after it sends its next request (a GC pause, a SIGSTOP), for `ms`. */
  pauseAfterNextSend(ms: number, requestName: string | null): void {
    this.pauseOnSend = { ms, requestName };
  }

  /** Disarms a pause that has not happened yet (the fault healed first). */
  cancelPauseAfterSend(): void {
    this.pauseOnSend = null;
  }

  private pauseOnSend: { ms: number; requestName: string | null } | null = null;

  /**
   * Pauses the process (until {@link resume}) right after it receives the next answer to
   * `requestName` with `status`: a GC pause or a SIGSTOP just after it saw, say, the key absent.
   * What that answer sets going (timers, the next read) waits with the rest of the process.
   */
  pauseAfterNextAnswer(requestName: string, status: number): void {
    this.pauseOnAnswer = { requestName, status };
  }

  /** Disarms a pause that has not happened yet. */
  cancelPauseAfterAnswer(): void {
    this.pauseOnAnswer = null;
  }

  private pauseOnAnswer: { requestName: string; status: number } | null = null;

  /**
   * Cuts the link (until {@link reconnect}) right after the next successful read-only answer to
   * `requestName` reaches the process — for `Transaction.create`, a hold confirmation: the holder
   * then acts for a whole lease it can no longer confirm. `onCut` runs once it is cut.
   */
  cutAfterNextReadAnswer(requestName: string, onCut: () => void): void {
    this.cutOnAnswer = { requestName, onCut };
  }

  /** Disarms a cut that has not happened yet. */
  cancelCutAfterAnswer(): void {
    this.cutOnAnswer = null;
  }

  private cutOnAnswer: { requestName: string; onCut: () => void } | null = null;

  resume(): void {
    // A pause that ends while the machine is suspended or its VM paused (a GC pause or a SIGSTOP
    // that overlapped a clock stop) leaves the process stopped: it runs nothing until its clocks
    // run again (resumeClocks). Otherwise it would run code on a clock that stands — no timer of
    // it comes due, so its stale-leader drop after D never fires (simulator seed 736).
    if (!this.paused || this.monoStoppedAt !== null) return;
    this.paused = false;
    const frozen = this.frozen;
    this.frozen = [];
    // Everything that came due while stopped runs at once, in order, like a SIGCONT'd process.
    this.backlog += frozen.length;
    for (const callback of frozen) {
      this.scheduler.after(0, () => {
        this.backlog -= 1;
        this.deliver(callback);
      });
    }
  }

  /** Callbacks that came due while paused and have not run yet: the process is still catching up. */
  backlog = 0;

  crash(): void {
    this.crashed = true;
    this.frozen = [];
  }

  cut(): void {
    if (!this.faults.partitioned)
      this.outages.push({ from: this.scheduler.now, failedAt: null, to: null });
    this.faults.partitioned = true;
  }

  reconnect(): void {
    const outage = this.outages.at(-1);
    if (this.faults.partitioned && outage) outage.to = this.scheduler.now;
    this.faults.partitioned = false;
    const held = this.held;
    this.held = [];
    for (const send of held) send();
  }

  /** Sends across the link after a network latency, or once it is back when it is cut. */
  private travel(run: () => void, extraMs = 0): void {
    const go = (): void =>
      void this.scheduler.after(this.random.between(0.1, 1.5) + extraMs, () => {
        if (this.faults.partitioned) this.held.push(go);
        else run();
      });
    if (this.faults.partitioned) this.held.push(go);
    else go();
  }

  // ------------------------------------------------------------------ published state

  /**
   * Records what the process publishes about who leads now; `state` null while it runs no code
   * (paused, catching up, crashed, stopped), when nobody can read what it publishes.
   */
  notePublished(state: Pick<LeadershipState, 'leader' | 'leaderKnown'> | null): void {
    const now = this.scheduler.now;
    if (state === null) return this.closePublished();
    // A library without leaderKnown (a mutant, an older build) says nothing of not knowing.
    const known = state.leaderKnown !== false;
    const leader = known ? (state.leader?.instanceId ?? null) : null;
    const token = known ? (state.leader?.fencingToken ?? null) : null;
    const run = this.publishedRun;
    if (run && run.leader === leader && run.token === token && run.known === known) {
      run.to = now;
      return;
    }
    this.closePublished();
    this.publishedRun = { process: this.name, leader, token, known, from: now, to: now };
  }

  /**
   * A request of the election whose published state the checker judges (the main key's) timed
   * out. Only its own failures start its count: a second election on the same client has requests
   * of its own, and their timeouts tell the main election nothing (simulator seed 780).
   */
  noteRequestTimedOut(): void {
    const outage = this.outages.at(-1);
    if (this.faults.partitioned && outage && outage.failedAt === null)
      outage.failedAt = this.scheduler.now;
  }

  closePublished(): void {
    if (this.publishedRun) this.published.push(this.publishedRun);
    this.publishedRun = null;
  }

  // ------------------------------------------------------------------ network

  readonly transport: ModelTransport = {
    send: (request) => this.send(request, true),
  };

  /**
   * The same network path for the application's own Consul client (the ClusterCron jobs): its
   * requests are not the election's, so they are left out of the election's load counts.
   */
  readonly applicationTransport: ModelTransport = {
    send: (request) => this.send(request, false),
  };

  private send(request: ModelRequest, election: boolean): Promise<ModelAnswer> {
    if (election) this.requests.push(this.scheduler.now);
    const loop = election ? loopOf(request) : null;
    if (loop) {
      const times = this.loopRequests.get(loop) ?? [];
      times.push(this.scheduler.now);
      this.loopRequests.set(loop, times);
    }
    return new Promise<ModelAnswer>((resolve, reject) => {
      let done = false;
      const finish = (outcome: () => void, what: string): void => {
        if (done) return;
        done = true;
        if (timer) this.clearTimer(timer);
        this.trace(`${this.name} ← ${request.name} ${what}`);
        outcome();
      };
      const timer =
        request.timeoutMs > 0
          ? this.setTimer(
              () => finish(() => reject(timeoutError(request.name)), 'timeout'),
              request.timeoutMs,
            )
          : null;
      request.ctx?.once('cancel', () =>
        finish(
          () => reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })),
          'cancelled',
        ),
      );
      const faults = this.faults;
      /** An answer travels back to this process. */
      const answerBack = (answer: () => void, what: string, extraMs = 0): void =>
        this.travel(() => this.deliver(() => finish(answer, what)), extraMs);
      // A lost request or answer is what a middlebox that swallows a message does; long polls are
      // spared (their loss would only show their own timeout, watchWait and more, not the election's).
      const blocking = request.blocking;
      if (!blocking && this.random.chance(faults.loseRequests)) {
        this.trace(`${this.name} → ${request.name} (lost)`);
        return;
      }
      const refusal = faults.errorStatus ?? this.answerFaults.refusal(request);
      if (refusal !== null) {
        const status = refusal;
        this.trace(`${this.name} → ${request.name} (proxy answers ${status})`);
        answerBack(() => resolve({ status, body: proxyBody(status) }), String(status));
        return;
      }
      this.trace(`${this.name} → ${request.name}${faults.partitioned ? ' (held: link cut)' : ''}`);
      if (
        this.pauseOnSend !== null &&
        !this.paused &&
        (this.pauseOnSend.requestName === null || this.pauseOnSend.requestName === request.name)
      ) {
        const pauseMs = this.pauseOnSend.ms;
        this.pauseOnSend = null;
        this.trace(
          `${this.name} paused for ${pauseMs.toFixed(0)}ms right after sending ${request.name}`,
        );
        this.pause();
        this.scheduler.after(pauseMs, () => this.resume());
      }
      this.travel(() => {
        let handled: Promise<ModelAnswer>;
        try {
          handled = Promise.resolve(request.handle());
        } catch (error) {
          handled = Promise.reject(error);
        }
        handled.then(
          (consulAnswer) => {
            const answer = this.answerFaults.rewrite(consulAnswer);
            if (!blocking && this.random.chance(this.faults.loseAnswers)) {
              this.trace(`${this.name} ✗ ${request.name} answer lost (${answer.status})`);
              return;
            }
            const slow = this.faults.slowAnswers;
            const slowWrite =
              request.name === 'Transaction.create' && request.write
                ? this.faults.slowWrites
                : null;
            const extra =
              (slow && this.random.chance(slow.p)
                ? this.random.between(slow.minMs, slow.maxMs)
                : 0) + (slowWrite ? this.random.between(slowWrite.minMs, slowWrite.maxMs) : 0);
            answerBack(
              () => {
                resolve(answer);
                const armed = this.pauseOnAnswer;
                if (armed?.requestName === request.name && armed.status === answer.status) {
                  this.pauseOnAnswer = null;
                  this.trace(`${this.name} paused right after ${request.name} ${answer.status}`);
                  this.pause();
                }
                const cutOn = this.cutOnAnswer;
                if (
                  cutOn?.requestName === request.name &&
                  !request.write &&
                  answer.status === 200
                ) {
                  this.cutOnAnswer = null;
                  this.trace(`${this.name} cut off right after ${request.name} ${answer.status}`);
                  this.cut();
                  cutOn.onCut();
                }
              },
              `${answer.status}${extra ? ` after +${extra.toFixed(0)}ms` : ''}`,
              extra,
            );
          },
          (error: unknown) => {
            const code = error instanceof ModelUnavailableError ? error.code : 'ECONNRESET';
            answerBack(() => reject(socketError(code)), code);
          },
        );
      });
    });
  }
}

interface SimTimer {
  readonly callback: () => void;
  epoch: number;
  readonly dueMono: number;
  event: SimEvent | null;
  cancelled: boolean;
}

function proxyBody(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 403) return 'Permission denied';
  if (status === 503) return 'Service Unavailable';
  return 'rpc error making call: No cluster leader';
}
