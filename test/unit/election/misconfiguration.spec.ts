// Answers that only a wrong configuration gives — an address that is not a Consul agent, a session
// TTL the servers refuse — are not weather: they are reported at ERROR with the fix, shown in the
// state as `misconfigured`, retried slowly, and with `failFast` they fail the start. The real
// NodeConsulPort over the Consul model, each request's answer replaced as such a server gives it.
import { ElectionStartError, type ElectionOptions } from '../../../lib/election';
import type { ModelAnswer } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import {
  directTransport,
  type ModelRequest,
  type ModelTransport,
} from '../../support/model-consul-client';
import { modelLink, useVirtualElections } from '../../support/virtual-elections';

/** Answers every request as `answer` says (null: delivered to the model). */
class AnsweringTransport implements ModelTransport {
  readonly sent: Array<{ name: string; at: number }> = [];
  constructor(
    private readonly now: () => number,
    public answer: (request: ModelRequest) => ModelAnswer | null,
  ) {}

  send(request: ModelRequest): Promise<ModelAnswer> {
    this.sent.push({ name: request.name, at: this.now() });
    const answer = this.answer(request);
    return answer ? Promise.resolve(answer) : directTransport.send(request);
  }
}

/** What a plain HTTP server that is not Consul answers: 404, no body, no X-Consul-Index. */
const notFound = (): ModelAnswer => ({ status: 404, body: '' });
/** What Consul answers a session whose TTL is under its servers' session_ttl_min (seen on 1.8.7). */
const invalidSessionTtl = (request: ModelRequest): ModelAnswer | null =>
  request.name === 'session.create'
    ? { status: 500, body: "Invalid Session TTL '30000000000', must be between [60s=24h0m0s]" }
    : null;

describe('misconfiguration', () => {
  const world = useVirtualElections();

  function candidate(
    answer: (request: ModelRequest) => ModelAnswer | null,
    overrides: Partial<ElectionOptions> = {},
  ) {
    const transport = new AnsweringTransport(() => world.clock.now(), answer);
    const logger = memoryLogger('a');
    const { election } = world.candidate(
      'a',
      { logger, ...overrides },
      modelLink(world.model, world.clock, transport),
    );
    return { election, transport, logger };
  }

  const errors = (logger: { lines: string[] }): string[] =>
    logger.lines.filter((line) => line.startsWith('a error '));

  it('reports an address that answers 404 to the agent API as misconfigured, at ERROR, naming the address and the fix', async () => {
    const { election, logger } = candidate(notFound);
    election.start();
    await world.until(() => election.state.problem !== null);
    expect(election.state.problem).toMatchObject({ kind: 'misconfigured', status: 404 });
    expect(election.state.problem!.message).toMatch(/does not answer as a Consul agent/);
    expect(election.state.problem!.message).toMatch(/consul\.host.*CONSUL_HTTP_ADDR/);
    expect(errors(logger)).toHaveLength(1);
    expect(logger.lines.filter((line) => line.includes('retrying with backoff'))).toEqual([]);
  });

  it('reports a 200 answer that is not Consul JSON as misconfigured', async () => {
    const { election } = candidate(() => ({ status: 200, body: '<html>proxy</html>' }), {
      healthCheck: false,
    });
    election.start();
    await world.until(() => election.state.problem !== null);
    expect(election.state.problem).toMatchObject({ kind: 'misconfigured' });
    expect(election.state.problem!.message).toMatch(/does not answer as a Consul agent/);
  });

  it('reports "Invalid Session TTL" as misconfigured, naming sessionTtl and session_ttl_min, not as Consul being unreachable', async () => {
    const { election, logger } = candidate(invalidSessionTtl);
    election.start();
    await world.until(() => election.state.problem !== null);
    expect(election.state.problem).toMatchObject({ kind: 'misconfigured', status: 500 });
    expect(election.state.problem!.message).toMatch(/Invalid Session TTL/);
    expect(election.state.problem!.message).toMatch(/sessionTtl.*session_ttl_min/);
    expect(election.state.consulReachable).toBe(true);
    expect(errors(logger)).toHaveLength(1);
  });

  it('reports a request Consul refuses as malformed (400) as misconfigured, naming the options it is built from', async () => {
    const { election } = candidate((request) =>
      request.name === 'agent.service.register'
        ? { status: 400, body: 'Invalid service name' }
        : null,
    );
    election.start();
    await world.until(() => election.state.problem !== null);
    expect(election.state.problem).toMatchObject({ kind: 'misconfigured', status: 400 });
    expect(election.state.problem!.message).toMatch(
      /HTTP 400: Invalid service name — Consul refuses the service register as malformed: check the options it is built from \(key, healthCheck\.serviceName, metadata\)/,
    );
  });

  it('retries a misconfigured request every 30 s, not at the backoff of a transient failure', async () => {
    const { election, transport } = candidate(invalidSessionTtl);
    election.start();
    await world.clock.advance(120_000);
    const creates = transport.sent.filter((request) => request.name === 'session.create');
    // At 0, 30, 60, 90 and 120 s (the first retry no sooner than 30 s after the first try).
    expect(creates.length).toBeGreaterThanOrEqual(4);
    expect(creates.length).toBeLessThanOrEqual(5);
    expect(creates[1].at - creates[0].at).toBeGreaterThanOrEqual(30_000);
  });

  it('repeats the ERROR line once a minute while the misconfiguration lasts', async () => {
    const { election, logger } = candidate(invalidSessionTtl);
    election.start();
    await world.clock.advance(5 * 60_000 + 1_000);
    // At 0 and then once a minute: 0, 60, 120, 180, 240, 300 s.
    expect(errors(logger).length).toBeGreaterThanOrEqual(5);
    expect(errors(logger).length).toBeLessThanOrEqual(6);
  });

  it('clears the problem and says so once Consul accepts the request', async () => {
    const { election, transport, logger } = candidate(invalidSessionTtl);
    election.start();
    await world.until(() => election.state.problem !== null);
    transport.answer = () => null;
    await world.until(() => election.state.problem === null, 40_000);
    expect(logger.lines.some((line) => line.includes('Consul answers again'))).toBe(true);
  });

  it('falls back to the session TTL once when sessions keep being refused for a check, then retries with backoff, not at once', async () => {
    // Consul 1.8.7's answer to a session bound to a check the agent does not know.
    const { election, transport } = candidate((request) =>
      request.name === 'session.create'
        ? { status: 500, body: "Missing check 'x' registration" }
        : null,
    );
    election.start();
    await world.clock.advance(10_000);
    expect(election.state.problem?.kind).toBe('no-local-agent');
    const creates = transport.sent.filter((request) => request.name === 'session.create');
    // retry.initialDelay 100 ms, maxDelay 2 s: a handful in 10 s, not thousands.
    expect(creates.length).toBeLessThan(30);
  });

  describe('failFast', () => {
    it('makes start() reject with the misconfiguration, and stops the election', async () => {
      const { election } = candidate(notFound, { failFast: true });
      const started = election.start();
      const outcome = started.then(
        () => null,
        (error: unknown) => error,
      );
      await world.until(() => election.state.role === 'stopped');
      const error = await outcome;
      expect(error).toBeInstanceOf(ElectionStartError);
      expect((error as ElectionStartError).problem.kind).toBe('misconfigured');
      expect((error as ElectionStartError).message).toMatch(
        /^The election for "spec\/leader" did not start \(failFast\): .*does not answer as a Consul agent/,
      );
    });

    it('lets start() resolve once Consul answered as Consul', async () => {
      const { election } = candidate(() => null, { failFast: true });
      let started = false;
      void election.start().then(() => (started = true));
      await world.until(() => started);
      expect(election.state.role).not.toBe('stopped');
    });

    it('does not fail the start on a transient failure: retrying heals it', async () => {
      let first = true;
      const { election } = candidate(
        (request) => {
          if (request.name !== 'session.create' || !first) return null;
          first = false;
          return { status: 503, body: 'No cluster leader' };
        },
        { failFast: true },
      );
      let started = false;
      void election.start().then(() => (started = true));
      await world.until(() => started);
      expect(election.state.role).not.toBe('stopped');
    });
  });

  it('without failFast, start() resolves at once and the election keeps retrying a misconfiguration', async () => {
    const { election } = candidate(notFound);
    await election.start();
    await world.until(() => election.state.problem !== null);
    expect(election.state.role).toBe('follower');
  });
});

describe('the cold-start log line', () => {
  const world = useVirtualElections();

  it('says, for a key it never saw held, what it waits for and why: a deleted key looks like a new one', async () => {
    const logger = memoryLogger('a');
    const { election } = world.candidate('a', { logger });
    election.start();
    await world.until(() => election.isLeader());
    const line = logger.lines.find((entry) => entry.includes('Acquired'));
    expect(line).toMatch(/did not exist/);
    expect(line).toMatch(/a key deleted under a live leader looks the same as a new one/);
    expect(line).not.toMatch(/previous holder's lease/);
  });
});
