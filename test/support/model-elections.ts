// Elections on a virtual clock and the Consul model, each candidate with its own NodeConsulPort on
// the model through its own HTTP-level transport (a FaultyLink, test/support/faulty-link.ts): the
// ground of the specs of writes whose outcome is unknown and of the reviews of their fixes. Unlike
// useVirtualElections() (faults by port method, renewals every 400 ms), the session here is renewed
// every 30 s, so what a candidate learns only at its renewal, it learns late.
import { LeaderElection, type ElectionOptions } from '../../lib/election';
import { decodeLeaderValue, type LeaderValue } from '../../lib/election/leader-value';
import { ConsulModel } from './consul-model';
import { memoryLogger } from './election-kit';
import { FaultyLink } from './faulty-link';
import { modelPort, type ModelTransport } from './model-consul-client';
import { VirtualClock } from './virtual-clock';
import { VIRTUAL_D, VIRTUAL_KEY, VIRTUAL_LOCK_DELAY } from './virtual-elections';

/** The timings of these specs: D = 1 s, lock-delay 1.5 s, a 60 s session, a 2 s check while leading. */
const TIMINGS = {
  leaseDuration: VIRTUAL_D,
  lockDelay: VIRTUAL_LOCK_DELAY,
  requestTimeout: 200,
  sessionTtl: '60s',
  healthCheck: { ttl: '2s', standbyTtl: '10s' },
  successionStep: 1_000,
  retry: { initialDelay: 100, maxDelay: 2_000 },
} satisfies Partial<ElectionOptions>;

class ModelElections {
  readonly clock = new VirtualClock();
  readonly model = new ConsulModel(this.clock);
  private readonly elections: LeaderElection[] = [];

  constructor(private readonly defaults: Partial<ElectionOptions>) {}

  /** The options of `instanceId` on the key, without a clock, port or logger. */
  options(instanceId: string, overrides: Partial<ElectionOptions> = {}): ElectionOptions {
    return { key: VIRTUAL_KEY, instanceId, ...TIMINGS, ...this.defaults, ...overrides };
  }

  /** A fresh link of one candidate to the model, delivering every request until told otherwise. */
  link(): FaultyLink {
    return new FaultyLink(this.clock);
  }

  /** An election (not started) whose port on the model goes through `link`. */
  elect(
    instanceId: string,
    link: ModelTransport = this.link(),
    overrides: Partial<ElectionOptions> = {},
  ): LeaderElection {
    const election = new LeaderElection({
      ...this.options(instanceId, overrides),
      clock: this.clock,
      consulPort: modelPort(this.model, link),
      logger: memoryLogger(instanceId),
    });
    this.elections.push(election);
    return election;
  }

  /** Advances virtual time in 5 ms steps until `probe` holds; returns that time. */
  async until(probe: () => boolean, limitMs = 10_000): Promise<number> {
    for (let waited = 0; !probe(); waited += 5) {
      if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await this.clock.advance(5);
    }
    return this.clock.now();
  }

  /** The key's value as stored (decoded from base64), or null. */
  rawInKey(): string | null {
    const raw = this.model.entryOf(VIRTUAL_KEY)?.Value;
    return raw ? Buffer.from(raw, 'base64').toString() : null;
  }

  /** The key's value read as a leader's value, or null. */
  valueInKey(): LeaderValue | null {
    return decodeLeaderValue(this.rawInKey());
  }

  /**
   * Stops every election, letting virtual time run so that stops waiting on timers finish (a stop
   * behind a cut link never does), then the model's own timers.
   */
  async stopAll(): Promise<void> {
    const stops = Promise.all(this.elections.splice(0).map((election) => election.stop()));
    await Promise.race([stops, this.clock.advance(30_000)]);
    this.model.dispose();
  }
}

/** The current test's elections, for the specs of a `describe` that calls {@link useModelElections}. */
export interface ModelWorld {
  readonly clock: VirtualClock;
  readonly model: ConsulModel;
  readonly link: ModelElections['link'];
  readonly options: ModelElections['options'];
  readonly elect: ModelElections['elect'];
  readonly until: ModelElections['until'];
  readonly rawInKey: ModelElections['rawInKey'];
  readonly valueInKey: ModelElections['valueInKey'];
}

/**
 * A fresh clock, Consul model and set of elections for every test of the calling `describe`, every
 * election stopped after it; `defaults` override the timings for the whole `describe`. The members
 * read the current test's world, so a spec can take `elect` and `until` once at the top.
 */
export function useModelElections(defaults: Partial<ElectionOptions> = {}): ModelWorld {
  let world: ModelElections | undefined;
  const current = (): ModelElections => {
    if (!world) throw new Error('useModelElections(): the world exists only inside a test');
    return world;
  };
  beforeEach(() => {
    world = new ModelElections(defaults);
  });
  afterEach(async () => {
    await current().stopAll();
    world = undefined;
  });
  return {
    get clock() {
      return current().clock;
    },
    get model() {
      return current().model;
    },
    link: () => current().link(),
    options: (...args) => current().options(...args),
    elect: (...args) => current().elect(...args),
    until: (probe, limitMs) => current().until(probe, limitMs),
    rawInKey: () => current().rawInKey(),
    valueInKey: () => current().valueInKey(),
  };
}
