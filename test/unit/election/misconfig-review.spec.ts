// Answers Consul gives in normal operation must not be taken for misconfiguration (issue 21 item 1,
// adversarial review): a misconfigured problem logs ERROR "not a Consul agent", turns health down
// and is retried only every 30 s. Virtual clock, the Consul model behind an agent that answers the
// way recent Consul versions do where 1.8.7 answers otherwise. What 1.8.7 itself answers, and how
// the election takes it on real agents and a 3-server cluster:
// test/integration/election/misconfig-review.spec.ts.
import { LeaderElection } from '../../../lib/election';
import { isUnknownToAgent, statusError } from '../../../lib/election/consul/consul-request.error';
import { ConsulModel, type ModelAnswer } from '../../support/consul-model';
import { memoryLogger } from '../../support/election-kit';
import {
  cancellable,
  type ModelRequest,
  type ModelTransport,
} from '../../support/model-consul-client';
import { Prng } from '../../support/prng';
import { VirtualClock } from '../../support/virtual-clock';
import { modelLink, useVirtualElections, type Link } from '../../support/virtual-elections';

/**
 * An agent that no longer knows this candidate's service for the next `forget` check registrations
 * (an agent restarted without its state, or the service reaped by deregister_critical_service_after),
 * answering as Consul 1.10 and later do: `404 ServiceID "…" does not exist` (agent_endpoint.go,
 * AgentRegisterCheck; 1.8.7 gives the same text with 500). The registration still reaches the model,
 * so the session bound to the check lives on, as in check-unknown.spec.ts.
 */
class ServiceForgettingAgent implements ModelTransport {
  forget = 0;

  send(request: ModelRequest): Promise<ModelAnswer> {
    return cancellable(request, async () => {
      const answer = await request.handle();
      if (request.name !== 'agent.check.register' || this.forget === 0) return answer;
      this.forget -= 1;
      return { status: 404, body: 'ServiceID "candidates-a-0f0f0f" does not exist' };
    });
  }
}

describe('answers of normal operation are not misconfiguration', () => {
  let clock: VirtualClock;
  let model: ConsulModel;
  let agent: ServiceForgettingAgent;
  let link: Link;
  let election: LeaderElection;
  let log: ReturnType<typeof memoryLogger>;

  beforeEach(() => {
    clock = new VirtualClock();
    const random = new Prng(1);
    model = new ConsulModel(clock, () => random.next());
    agent = new ServiceForgettingAgent();
    link = modelLink(model, clock, agent);
    log = memoryLogger('a');
    election = new LeaderElection({
      key: 'spec/leader',
      instanceId: 'a',
      clock,
      consulPort: link.port,
      logger: log,
      leaseDuration: 1_000,
      lockDelay: 1_000,
      healthCheck: { ttl: '2s', standbyTtl: '10s' },
      retry: { initialDelay: 100, maxDelay: 2_000 },
    });
  });
  afterEach(async () => {
    await Promise.race([election.stop(), clock.advance(10_000)]);
    model.dispose();
  });

  async function until(probe: () => boolean, limitMs = 30_000): Promise<void> {
    for (let waited = 0; !probe(); waited += 10) {
      if (waited > limitMs) throw new Error(`condition never held: ${log.lines.join('\n')}`);
      await clock.advance(10);
    }
  }

  it('takes a recent agent\'s 404 "ServiceID … does not exist" to the leader\'s check re-registration for a check the agent lost, not for an address that is not Consul', async () => {
    // The switch to the leader's TTL re-registers the check: that is the request answered 404.
    agent.forget = 1;
    const kinds: string[] = [];
    election.state$.subscribe((state) => state.problem && kinds.push(state.problem.kind));
    election.start();
    await until(() => election.isLeader());
    await until(() => log.lines.some((line) => /registering the check again/.test(line)));
    expect(kinds).not.toContain('misconfigured');
    expect(log.lines.filter((line) => line.startsWith('a error '))).toEqual([]);
  });
});

describe('a 404 naming what the agent does not know', () => {
  it.each([
    ['check register', 'ServiceID "svc-a-1" does not exist'],
    [
      'check update',
      'Unknown check ID "svc-a-1:alive". Ensure that the check ID is passed, not the check name.',
    ],
  ])("is Consul saying so when it has Consul's own text (%s)", (operation, body) => {
    const error = statusError(404, body, operation);
    expect({ kind: error.kind, unknown: isUnknownToAgent(error) }).toEqual({
      kind: 'unexpected',
      unknown: true,
    });
  });

  it('is still a server that is not Consul when a web page says something "does not exist"', () => {
    const error = statusError(
      404,
      '<h1>The page you requested does not exist</h1>',
      'check register',
    );
    expect({ kind: error.kind, unknown: isUnknownToAgent(error) }).toEqual({
      kind: 'misconfigured',
      unknown: false,
    });
  });
});

describe('a misconfiguration reported by a loop that then stops', () => {
  const world = useVirtualElections();

  it('ends with the loop: a leader whose confirmations met a bare 404 for a moment shows no problem as a follower whose loops all work', async () => {
    const a = await world.leading('a');
    const b = await world.following('b');
    // What a load balancer in front of the agent answers while its pool is empty: a bare 404.
    a.link.refuse.set('confirmHolding', () => statusError(404, '', 'hold confirmation'));
    await world.until(() => b.election.isLeader());
    a.link.refuse.delete('confirmHolding');
    expect(a.election.isLeader()).toBe(false);
    // Every loop of the follower succeeds from here on (key watch, renewals, check updates); its
    // confirmations, the loop that met the 404, no longer run.
    await world.clock.advance(65_000);
    expect(a.election.state.problem).toBeNull();
    expect(a.election.state.consulReachable).toBe(true);
  });
});
