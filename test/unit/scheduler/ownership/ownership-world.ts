// The ground of the job-ownership specs: instances on one virtual clock and one Consul model, each
// with its own link (a FaultyLink the spec can cut: a partition), its real candidate session (the
// election's CandidateSession: a service, a TTL check bound to the session, kept passing), and its
// JobOwnership loop. An instance can be paused (SIGSTOP: no timer runs, no answer is handled, while
// time and Consul go on) or crashed (paused for good: its check turns critical, Consul invalidates
// its session). A sampler records, every few ms, which instances could act on each job.
import { resolveElectionOptions } from '../../../../lib/election/options/resolve-election-options';
import { CandidateSession } from '../../../../lib/election/session/candidate-session';
import type { Clock, NodeConsulPort, TimerHandle } from '../../../../lib/election';
import {
  JobOwnership,
  type JobOwnershipOptions,
  type OwnershipEvent,
} from '../../../../lib/scheduler/ownership/job-ownership';
import { ConsulModel, type ModelAnswer } from '../../../support/consul-model';
import { memoryLogger } from '../../../support/election-kit';
import { FaultyLink } from '../../../support/faulty-link';
import { modelPort, type ModelRequest } from '../../../support/model-consul-client';
import { Prng } from '../../../support/prng';
import { VirtualClock } from '../../../support/virtual-clock';

export const ELECTION_KEY = 'service/cron/leader';
export const TIMING = {
  leaseMs: 2_500,
  renewIntervalMs: 1_250,
  requestTimeoutMs: 500,
  lockDelayMs: 2_500,
  successionStepMs: 1_750,
  settleMs: 5_000,
  checkTtlMs: 2_000,
} as const;

export const jobNames = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `job-${String(i).padStart(3, '0')}`);

/** A process that can be stopped (SIGSTOP) and continued: its timers and answers wait meanwhile. */
class Pause {
  paused = false;
  private readonly waiting: Array<() => void> = [];

  /** Runs `callback` now, or when the process is continued. */
  run(callback: () => void): void {
    if (this.paused) this.waiting.push(callback);
    else callback();
  }

  resume(): void {
    this.paused = false;
    for (const callback of this.waiting.splice(0)) callback();
  }
}

/** The shared clock as one process sees it: its timers do not fire while it is stopped. */
function pausableClock(clock: VirtualClock, pause: Pause): Clock {
  return {
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    setTimer: (callback, delayMs): TimerHandle =>
      clock.setTimer(() => pause.run(callback), delayMs),
    clearTimer: (handle) => clock.clearTimer(handle),
  };
}

/** A link whose answers reach a stopped process only when it continues. */
class PausableLink extends FaultyLink {
  constructor(
    clock: VirtualClock,
    private readonly pause: Pause,
  ) {
    super(clock);
  }

  override send(request: ModelRequest): Promise<ModelAnswer> {
    return super.send(request).then(
      (answer) => new Promise((resolve) => this.pause.run(() => resolve(answer))),
      (error: unknown) => new Promise((_, reject) => this.pause.run(() => reject(error))),
    );
  }
}

export interface OwnershipInstance {
  readonly id: string;
  readonly link: FaultyLink;
  readonly port: NodeConsulPort;
  /** The shared clock as this process sees it (stopped with it). */
  readonly clock: Clock;
  readonly pause: Pause;
  readonly ownership: JobOwnership;
  readonly session: CandidateSession;
  readonly events: OwnershipEvent[];
  /** Jobs with a fire running here (the spec says which). */
  readonly busy: Set<string>;
  crashed: boolean;
}

export class OwnershipWorld {
  readonly clock = new VirtualClock();
  readonly random: Prng;
  readonly model: ConsulModel;
  readonly instances = new Map<string, OwnershipInstance>();
  /**
   * What the spec says the catalog shows, instead of the catalog itself: a stale read (a dead
   * instance still listed) or a flapping one.
   */
  membersOverride: string[] | null = null;

  /** The live membership every instance sees: the instances whose check passes, as the catalog's read. */
  get members(): string[] {
    if (this.membersOverride) return this.membersOverride;
    const passing = new Set(this.model.passingCheckIds());
    return [...this.instances.keys()].filter((id) => passing.has(`svc-${id}:alive`));
  }
  /** Per job, a moment and the instances that could act on it then, when more than one could. */
  readonly overlaps: Array<{ job: string; at: number; actors: string[] }> = [];
  private sampler: TimerHandle | null = null;

  constructor(
    readonly jobs: readonly string[],
    seed = 20,
  ) {
    this.random = new Prng(seed);
    this.model = new ConsulModel(this.clock, () => this.random.next());
  }

  async add(id: string, overrides: Partial<JobOwnershipOptions> = {}): Promise<OwnershipInstance> {
    const pause = new Pause();
    const clock = pausableClock(this.clock, pause);
    const link = new PausableLink(this.clock, pause);
    link.latencyMs = 2;
    const port = modelPort(this.model, link);
    const resolved = resolveElectionOptions({
      key: ELECTION_KEY,
      instanceId: id,
      leaseDuration: TIMING.leaseMs,
      lockDelay: TIMING.lockDelayMs,
      requestTimeout: TIMING.requestTimeoutMs,
      // An owner keeps its check at `ttl` (docs/design/job-spread.md): its crash frees its jobs in seconds.
      healthCheck: { ttl: TIMING.checkTtlMs, standbyTtl: TIMING.checkTtlMs },
    });
    let sessionLost = false;
    const opening = CandidateSession.open(
      port,
      resolved,
      clock,
      {
        onLost: () => void (sessionLost = true),
        onNoLocalAgent: () => undefined,
        onSuccess: () => undefined,
        onProblem: () => undefined,
      },
      `svc-${id}`,
    );
    // Its requests take virtual time (the link's latency): time moves until it is open.
    let opened: CandidateSession | null = null;
    void opening.then((session) => (opened = session));
    while (!opened) await this.clock.advance(1);
    const session: CandidateSession = opened;
    session.setMode('leading');
    const events: OwnershipEvent[] = [];
    const busy = new Set<string>();
    const ownership = new JobOwnership({
      port,
      clock,
      options: {
        electionKey: ELECTION_KEY,
        instanceId: id,
        jobs: this.jobs,
        leaseMs: TIMING.leaseMs,
        renewIntervalMs: TIMING.renewIntervalMs,
        requestTimeoutMs: TIMING.requestTimeoutMs,
        lockDelayMs: TIMING.lockDelayMs,
        successionStepMs: TIMING.successionStepMs,
        settleMs: TIMING.settleMs,
        ...overrides,
      },
      // The candidate's own session, until the candidate learns (a renewal's 404) that it is gone.
      session: () => (sessionLost ? null : session.id),
      membership: () => this.members,
      isBusy: (job) => busy.has(job),
      logger: memoryLogger(id),
      onEvent: (event) => void events.push(event),
    });
    const added: OwnershipInstance = {
      id,
      link,
      port,
      clock,
      pause,
      ownership,
      session,
      events,
      busy,
      crashed: false,
    };
    this.instances.set(id, added);
    ownership.start();
    return added;
  }

  /** kill -9: nothing of it runs any more; Consul notices through its check. */
  crash(id: string): void {
    const instance = this.instances.get(id)!;
    instance.crashed = true;
    instance.pause.paused = true;
  }

  /** Who could act on `job` now: instances that run (not stopped) and whose Lead is valid. */
  actorsOf(job: string): string[] {
    return [...this.instances.values()]
      .filter((instance) => !instance.pause.paused)
      .filter((instance) => instance.ownership.leadershipOf(job).current() !== null)
      .map((instance) => instance.id);
  }

  /** The instance acting on each job now (undefined: none). */
  actingOwners(): Map<string, string | undefined> {
    return new Map(this.jobs.map((job) => [job, this.actorsOf(job)[0]]));
  }

  /** Samples every `everyMs` whether two instances could act on one job at the same moment. */
  startSampler(everyMs = 5): void {
    const sample = (): void => {
      for (const job of this.jobs) {
        const actors = this.actorsOf(job);
        if (actors.length > 1) this.overlaps.push({ job, at: this.clock.now(), actors });
      }
      this.sampler = this.clock.setTimer(sample, everyMs);
    };
    sample();
  }

  /** Advances until `done()` holds (checked every 50 ms) or `withinMs` passes; returns the time it took. */
  async until(done: () => boolean, withinMs: number): Promise<number> {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start > withinMs) throw new Error(`not within ${withinMs} ms`);
      await this.clock.advance(50);
    }
    return this.clock.now() - start;
  }

  dispose(): void {
    if (this.sampler) this.clock.clearTimer(this.sampler);
    for (const instance of this.instances.values()) {
      instance.session.close();
      void instance.ownership.stop({ release: false });
    }
    this.model.dispose();
  }
}
