// What the Nest layer makes of the election's published state (issue 18, defect 5; issue 21, item
// 4): leader$ tells "not known" (undefined) from "nobody leads" (null); the guard never names or
// redirects to a leader this instance cannot vouch for; and leader-only work is refused at the
// lease's deadline even while the published role still says leader. The real LeaderElection on a
// virtual clock and the Consul model, wrapped in the real ConsulLeaderService.
import 'reflect-metadata';
import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import {
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  LEADER_HEADER,
  LeaderOnlyGuard,
  NotLeaderError,
  type LeaderInfo,
} from '../../../lib';
import { RUN_AS_LEADER } from '../../../lib/consul-leader.constants';
import { FaultyLink } from '../../support/faulty-link';
import {
  VIRTUAL_D as D,
  VIRTUAL_KEY,
  modelLink,
  useVirtualElections,
  type Candidate,
} from '../../support/virtual-elections';

/** A follower's caller: sent to the leader's own URL when one is named. */
const http = { redirectTo: (leader: LeaderInfo) => `http://${leader.instanceId}.internal/jobs` };

/** What the guard answered an HTTP caller: the status and the headers it set. */
function guardAnswer(service: ConsulLeaderService): {
  status: number;
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  const guard = new LeaderOnlyGuard({ get: () => service } as unknown as ModuleRef);
  const context = {
    getHandler: () => function handler() {},
    getType: () => 'http',
    switchToHttp: () => ({
      getResponse: () => ({ setHeader: (name: string, value: string) => (headers[name] = value) }),
      getRequest: () => ({ originalUrl: '/jobs' }),
    }),
  } as unknown as ExecutionContext;
  try {
    return { status: guard.canActivate(context) ? 200 : 403, headers };
  } catch (error) {
    if (!(error instanceof HttpException)) throw error;
    return { status: error.getStatus(), headers };
  }
}

describe('the published leader in the Nest layer (virtual clock)', () => {
  const world = useVirtualElections();
  const { candidate, leading, until } = world;

  const serviceOf = ({ election }: Pick<Candidate, 'election'>): ConsulLeaderService =>
    new ConsulLeaderService(election, { key: VIRTUAL_KEY, http }, null);

  /** A candidate behind a link that can be cut off: its requests then time out. */
  const cuttable = (instanceId: string) => {
    const link = new FaultyLink(world.clock);
    return { ...candidate(instanceId, {}, modelLink(world.model, world.clock, link)), link };
  };

  it('leader$ says "not known" (undefined) before the first read, then names the leader, never "nobody" in between', async () => {
    await leading('a');
    const b = candidate('b');
    const seen: Array<string | null | undefined> = [];
    serviceOf(b).leader$.subscribe((leader) => seen.push(leader && leader.instanceId));
    b.election.start();
    await until(() => seen.includes('a'));
    expect(seen).toEqual([undefined, 'a']);
  });

  it('leader$ says "not known" once the follower cannot reach Consul for longer than the lease, and the guard neither names nor redirects to the old leader', async () => {
    await leading('a');
    const b = cuttable('b');
    const service = serviceOf(b);
    const seen: Array<string | null | undefined> = [];
    service.leader$.subscribe((leader) => seen.push(leader && leader.instanceId));
    b.election.start();
    await until(() => seen.includes('a'));
    expect(guardAnswer(service)).toEqual({
      status: 307,
      headers: { [LEADER_HEADER]: 'a', Location: 'http://a.internal/jobs' },
    });
    b.link.cut = true;
    await until(() => seen.at(-1) === undefined, 60_000);
    expect(seen).toEqual([undefined, 'a', undefined]);
    // No leader known: 503 with the failover time (lock-delay 1.5 s + D 1 s), no leader named.
    expect(guardAnswer(service)).toEqual({ status: 503, headers: { 'Retry-After': '3' } });
  });

  describe('a lease that runs out while the published role still says leader', () => {
    /** a leads behind a cuttable link; its deadline timer will fire `lateMs` after the deadline. */
    async function leaderWithLateDeadlineTimer(lateMs: number) {
      const a = cuttable('a');
      a.election.start();
      await until(() => a.election.isLeader());
      const service = serviceOf(a);
      // Node's timers fire late when the event loop is busy: the deadline timer armed at the next
      // confirmation fires `lateMs` late; then the link is cut, so that confirmation is the last.
      world.clock.timersFireEarlyBy = -lateMs;
      const before = a.election.stepDownDeadline;
      await until(() => a.election.stepDownDeadline !== before);
      a.link.cut = true;
      const deadline = a.election.stepDownDeadline!;
      await world.clock.advance(deadline - world.clock.now() + 1);
      return { a, service };
    }

    it('isLeader() and assertLeader() refuse at the deadline', async () => {
      const { service } = await leaderWithLateDeadlineTimer(D);
      expect(service.state.role).toBe('leader');
      expect(service.isLeader()).toBe(false);
      expect(() => service.assertLeader('billing')).toThrow(NotLeaderError);
    });

    it('a @LeaderOnly call is skipped at the deadline', async () => {
      const { service } = await leaderWithLateDeadlineTimer(D);
      expect(service.state.role).toBe('leader');
      let ran = false;
      expect(service[RUN_AS_LEADER]('Jobs.run', () => (ran = true))).toBeUndefined();
      expect(ran).toBe(false);
    });

    it('the guard refuses at the deadline and sends the caller nowhere', async () => {
      const { service } = await leaderWithLateDeadlineTimer(D);
      expect(service.state.role).toBe('leader');
      const answer = guardAnswer(service);
      expect(answer.status).toBe(503);
      expect(answer.headers[LEADER_HEADER]).toBeUndefined();
      expect(answer.headers.Location).toBeUndefined();
    });

    it('after a suspend (wall clock past the lease, no timer fired) every way in refuses', async () => {
      const a = await leading('a');
      const service = serviceOf(a);
      world.clock.suspend(2 * D);
      expect(service.state.role).toBe('leader');
      expect(guardAnswer(service).status).toBe(503);
      expect(service[RUN_AS_LEADER]('Jobs.run', () => 'ran')).toBeUndefined();
      expect(service.isLeader()).toBe(false);
    });
  });

  it('the testing stub tells "not known" from "nobody" as the real service does', () => {
    const stub = createConsulLeaderServiceStub({ instanceId: 'me' });
    const seen: Array<string | null | undefined> = [];
    stub.leader$.subscribe((leader) => seen.push(leader && leader.instanceId));
    stub.becomeFollower(); // the test says: nobody leads
    stub.becomeLeader();
    stub.loseSightOfLeader(); // as after an outage longer than the lease: steps down, knows nobody
    expect(seen).toEqual([undefined, null, 'me', undefined]);
    expect(stub.isLeader()).toBe(false);
    expect(stub.state).toMatchObject({ role: 'follower', leader: null, leaderKnown: false });
  });
});
