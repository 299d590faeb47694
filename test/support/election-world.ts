// What the worlds of the virtual-clock specs share (useVirtualElections(), useModelElections()): a
// virtual clock, a Consul model on it and the elections of one test, every election stopped after
// the test; and the hook that gives each test of a `describe` a fresh world.
import type { LeaderElection } from '../../lib/election';
import type { ConsulModel } from './consul-model';
import { VirtualClock } from './virtual-clock';

export abstract class ElectionWorld {
  readonly clock = new VirtualClock();
  abstract readonly model: ConsulModel;
  private readonly elections: LeaderElection[] = [];

  /** `stopWithinMs`: how much virtual time the stops of a test's elections get after it. */
  constructor(private readonly stopWithinMs: number) {}

  /** Advances virtual time in 5 ms steps until `probe` holds; returns that time. */
  async until(probe: () => boolean, limitMs = 10_000): Promise<number> {
    for (let waited = 0; !probe(); waited += 5) {
      if (waited > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await this.clock.advance(5);
    }
    return this.clock.now();
  }

  /**
   * Stops every election, letting virtual time run so that stops waiting on timers finish (a stop
   * behind a cut link never does), then the model's own timers.
   */
  async stopAll(): Promise<void> {
    const stops = Promise.all(this.elections.splice(0).map((election) => election.stop()));
    await Promise.race([stops, this.clock.advance(this.stopWithinMs)]);
    this.model.dispose();
  }

  /** An election of this test, stopped after it. */
  protected track(election: LeaderElection): LeaderElection {
    this.elections.push(election);
    return election;
  }
}

/** The current test's world, as a `describe` sees it: everything but the stop after each test. */
export type WorldView<W extends ElectionWorld> = Omit<W, 'stopAll'>;

/**
 * A fresh world from `make` for every test of the calling `describe`, its elections stopped after
 * the test. The view reads the current test's world; its methods may be taken once at the top of
 * the `describe` (they find the world when called).
 */
export function useWorld<W extends ElectionWorld>(
  hook: string,
  kind: { prototype: W },
  make: () => W,
): WorldView<W> {
  let world: W | undefined;
  const current = (): W => {
    if (!world) throw new Error(`${hook}: the world exists only inside a test`);
    return world;
  };
  beforeEach(() => {
    world = make();
  });
  afterEach(async () => {
    await current().stopAll();
    world = undefined;
  });
  return new Proxy({} as WorldView<W>, {
    get(_view, property) {
      if (typeof Reflect.get(kind.prototype, property) !== 'function') {
        return Reflect.get(current(), property) as unknown;
      }
      return (...args: unknown[]) => {
        const target = current();
        return (Reflect.get(target, property) as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
