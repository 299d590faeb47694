// Elections on a virtual clock and the Consul model (test/support/consul-model.ts, compared with a
// real agent by the conformance spec), each candidate with its own NodeConsulPort on the model
// behind its own link, so that one candidate can be cut off, refused, slowed or lose answers alone:
// the ground of the state-machine specs, the takeover-fault specs and the review findings.
import {
  ConsulRequestError,
  LeaderElection,
  type ConsulPort,
  type ElectionOptions,
} from '../../lib/election';
import { ConsulModel } from './consul-model';
import { memoryLogger } from './election-kit';
import { ElectionWorld, useWorld, type WorldView } from './election-world';
import { directTransport, modelPort, type ModelTransport } from './model-consul-client';
import { ModelOperator } from './model-operator';
import { Prng } from './prng';
import type { VirtualClock } from './virtual-clock';

/** One candidate's link to the shared Consul model, by ConsulPort method name. */
export interface Link {
  readonly port: ConsulPort;
  /** Every request hangs unanswered, like a black-holed network; answers still on their way are lost. */
  cut: boolean;
  /** Calls (by port method name) that never reach Consul and are never answered. */
  readonly hang: Set<string>;
  /** Calls (by port method name) answered with this error after 1 ms instead of reaching Consul. */
  readonly refuse: Map<string, () => Error>;
  /** Calls (by port method name) answered with this value instead of reaching Consul. */
  readonly answer: Map<string, unknown>;
  /** Calls (by port method name) that wait this long (virtual ms) before they reach Consul. */
  readonly delay: Map<string, number>;
  /** Calls (by port method name) that Consul carries out but whose answer is lost (a timeout). */
  readonly loseAnswer: Set<string>;
  readonly calls: Array<{ method: string; at: number; args: unknown[] }>;
}

/** One election and its link. */
export interface Candidate {
  readonly election: LeaderElection;
  readonly link: Link;
}

export const VIRTUAL_D = 1_000;
export const VIRTUAL_LOCK_DELAY = 1_500;

/** The timings of these specs: D = 1 s, lock-delay 1.5 s, a 2 s check while leading. */
const TIMINGS = {
  leaseDuration: VIRTUAL_D,
  lockDelay: VIRTUAL_LOCK_DELAY,
  renewInterval: 400,
  requestTimeout: 200,
  healthCheck: { ttl: '2s', standbyTtl: '10s' },
  successionStep: 250,
  retry: { initialDelay: 100, maxDelay: 2_000 },
} satisfies Partial<ElectionOptions>;

/**
 * A link to `model` by ConsulPort method name, in front of a NodeConsulPort of its own on the model
 * (through `transport`, for faults at the level of HTTP requests); `onCall` hears every call.
 */
export function modelLink(
  model: ConsulModel,
  clock: VirtualClock,
  transport: ModelTransport = directTransport,
  onCall?: (method: string) => void,
): Link {
  const state: Link = {
    port: undefined as unknown as ConsulPort,
    cut: false,
    hang: new Set(),
    refuse: new Map(),
    answer: new Map(),
    delay: new Map(),
    loseAnswer: new Set(),
    calls: [],
  };
  const never = (): Promise<never> => new Promise<never>(() => undefined);
  const port = new Proxy(modelPort(model, transport), {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = String(property);
      return async (...args: unknown[]) => {
        state.calls.push({ method, at: clock.now(), args });
        if (method === 'close') return undefined;
        onCall?.(method);
        if (state.cut || state.hang.has(method)) return never();
        const refusal = state.refuse.get(method);
        if (refusal) {
          return new Promise((_resolve, reject) => clock.setTimer(() => reject(refusal()), 1));
        }
        if (state.answer.has(method)) return state.answer.get(method);
        const delayMs = state.delay.get(method);
        if (delayMs) await new Promise<void>((resolve) => clock.setTimer(resolve, delayMs));
        let answer: unknown;
        try {
          answer = await (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          // An answer that comes back after the link was cut is lost too.
          if (state.cut) return never();
          throw error;
        }
        const late = state.refuse.get(method);
        if (late) throw late();
        if (state.loseAnswer.has(method))
          throw new ConsulRequestError('timeout', method, 'request timed out (answer lost)');
        if (state.cut) return never();
        return answer;
      };
    },
  });
  (state as { port: ConsulPort }).port = port;
  return state;
}

export const VIRTUAL_KEY = 'spec/leader';

export class VirtualElections extends ElectionWorld {
  private readonly random = new Prng(1);
  readonly model = new ConsulModel(this.clock, () => this.random.next());
  /** An operator's actions on the election's key. */
  readonly consul = new ModelOperator(this.model, VIRTUAL_KEY);
  /** Every call of every link, by port method name, in order. */
  readonly calls: string[] = [];

  constructor() {
    super(10_000);
  }

  link(): Link {
    return modelLink(this.model, this.clock, directTransport, (method) => this.calls.push(method));
  }

  candidate(
    instanceId: string,
    overrides: Partial<ElectionOptions> = {},
    via: Link = this.link(),
  ): Candidate {
    const election = this.track(
      new LeaderElection({
        key: VIRTUAL_KEY,
        instanceId,
        clock: this.clock,
        consulPort: via.port,
        logger: memoryLogger(instanceId),
        ...TIMINGS,
        ...overrides,
      }),
    );
    return { election, link: via };
  }

  /** A candidate started and run until it leads. */
  async leading(...args: Parameters<VirtualElections['candidate']>): Promise<Candidate> {
    const candidate = this.candidate(...args);
    candidate.election.start();
    await this.until(() => candidate.election.isLeader());
    return candidate;
  }

  /** A candidate started, with 50 ms of virtual time to see who holds the key and join the line. */
  async following(...args: Parameters<VirtualElections['candidate']>): Promise<Candidate> {
    const candidate = this.candidate(...args);
    candidate.election.start();
    await this.clock.advance(50);
    return candidate;
  }

  /**
   * Advances time in 1 ms steps for `ms`, sampling every election's isLeader(); returns the first
   * moment two were true together, or null.
   */
  async firstOverlap(all: LeaderElection[], ms: number): Promise<string | null> {
    for (let t = 0; t < ms; t += 1) {
      const leaders = all.filter((election) => election.isLeader()).map((e) => e.instanceId);
      if (leaders.length > 1) return `${leaders.join(' and ')} at ${this.clock.now()} ms`;
      await this.clock.advance(1);
    }
    return null;
  }
}

/** The current test's elections, for the specs of a `describe` that calls {@link useVirtualElections}. */
export type VirtualWorld = WorldView<VirtualElections>;

/**
 * A fresh clock, Consul and set of elections for every test of the calling `describe`, every
 * election stopped after it. The members read the current test's world, so a spec can take
 * `candidate` and `until` once at the top of its `describe`.
 */
export function useVirtualElections(): VirtualWorld {
  return useWorld('useVirtualElections()', VirtualElections, () => new VirtualElections());
}
