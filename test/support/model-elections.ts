// Elections on a virtual clock and the Consul model, each candidate with its own NodeConsulPort on
// the model through its own HTTP-level transport (a FaultyLink, test/support/faulty-link.ts): the
// ground of the specs of writes whose outcome is unknown and of the reviews of their fixes. Unlike
// useVirtualElections() (faults by port method, renewals every 400 ms), the session here is renewed
// every 30 s, so what a candidate learns only at its renewal, it learns late.
import { LeaderElection, type Clock, type ElectionOptions } from '../../lib/election';
import { decodeLeaderValue, type LeaderValue } from '../../lib/election/protocol/leader-value';
import { ConsulModel } from './consul-model';
import { memoryLogger } from './election-kit';
import { ElectionWorld, useWorld, type WorldView } from './election-world';
import { FaultyLink } from './faulty-link';
import { modelPort, type ModelTransport } from './model-consul-client';
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

class ModelElections extends ElectionWorld {
  readonly model = new ConsulModel(this.clock);

  constructor(private readonly defaults: Partial<ElectionOptions>) {
    super(30_000);
  }

  /** The options of `instanceId` on the key, without a clock, port or logger. */
  options(instanceId: string, overrides: Partial<ElectionOptions> = {}): ElectionOptions {
    return { key: VIRTUAL_KEY, instanceId, ...TIMINGS, ...this.defaults, ...overrides };
  }

  /** A fresh link of one candidate to the model, delivering every request until told otherwise. */
  link(): FaultyLink {
    return new FaultyLink(this.clock);
  }

  /**
   * An election (not started) whose port on the model goes through `link`, on `clock` (the world's by
   * default); its ACL token is its id.
   */
  elect(
    instanceId: string,
    link: ModelTransport = this.link(),
    overrides: Partial<ElectionOptions> = {},
    clock: Clock = this.clock,
  ): LeaderElection {
    return this.track(
      new LeaderElection({
        logger: memoryLogger(instanceId),
        ...this.options(instanceId, overrides),
        clock,
        // Each candidate its own ACL token, named after it, so a spec can take rights from one.
        consulPort: modelPort(this.model, link, instanceId),
      }),
    );
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

  /** Waits for `election`'s next confirmation to be answered, then cuts its link off. */
  async cutRightAfterConfirmation(election: LeaderElection, link: FaultyLink): Promise<void> {
    const deadline = election.state.stepDownDeadline;
    await this.until(() => election.state.stepDownDeadline !== deadline, 10_000);
    link.cut = true;
  }

  /** Samples every 5 ms for `forMs` who leads: how long (ms) two or more led at once, and who. */
  async overlapOf(
    elections: Record<string, LeaderElection>,
    forMs: number,
  ): Promise<{ ms: number; who: string[] }> {
    let ms = 0;
    const who = new Set<string>();
    for (let waited = 0; waited < forMs; waited += 5) {
      const leading = Object.keys(elections).filter((id) => elections[id]!.isLeader());
      if (leading.length > 1) {
        ms += 5;
        leading.forEach((id) => who.add(id));
      }
      await this.clock.advance(5);
    }
    return { ms, who: [...who].sort() };
  }
}

/** The current test's elections, for the specs of a `describe` that calls {@link useModelElections}. */
export type ModelWorld = WorldView<ModelElections>;

/**
 * A fresh clock, Consul model and set of elections for every test of the calling `describe`, every
 * election stopped after it; `defaults` override the timings for the whole `describe`. The members
 * read the current test's world, so a spec can take `elect` and `until` once at the top.
 */
export function useModelElections(defaults: Partial<ElectionOptions> = {}): ModelWorld {
  return useWorld('useModelElections()', ModelElections, () => new ModelElections(defaults));
}
