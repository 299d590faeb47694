import type { ElectionOptions, LeaderElection } from '../../lib/election';
import { startConsulAgent, type ConsulAgent, type StartAgentOptions } from '../../harness';
import { createElection } from './election-kit';

/** Where a candidate talks to: the agent itself, or a proxy in front of it. */
export type ConsulTarget = Pick<ConsulAgent, 'host' | 'port'>;

export interface RealConsulFixture {
  /** The suite's own dev agent (started in beforeAll). */
  readonly agent: ConsulAgent;
  /** A candidate with FAST_TIMINGS (plus `overrides`), stopped after the test. Not started. */
  candidate(
    key: string,
    instanceId: string,
    overrides?: Partial<ElectionOptions>,
    target?: ConsulTarget,
  ): LeaderElection;
  /** Runs `cleanup` after the test, after the candidates stopped (proxies, timers, writers). */
  afterThisTest(cleanup: () => unknown): void;
}

/**
 * Registers the hooks of a suite that runs elections on its own dev agent: starts the agent once,
 * stops every candidate and runs the cleanups after each test, stops the agent at the end.
 */
export function useRealConsul(options: StartAgentOptions = {}): RealConsulFixture {
  let agent: ConsulAgent | undefined;
  const running: LeaderElection[] = [];
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    agent = await startConsulAgent({ forceLocal: true, ...options });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  return {
    get agent(): ConsulAgent {
      if (!agent) throw new Error('the agent starts in beforeAll');
      return agent;
    },
    candidate(key, instanceId, overrides = {}, target) {
      const election = createElection(target ?? this.agent, key, instanceId, overrides);
      running.push(election);
      return election;
    },
    afterThisTest(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
