import { createHook } from 'node:async_hooks';
import { NodeConsulPort, type LeaderElection } from '../../../lib/election';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { countingPort } from '../../support/counting-port';
import {
  LeadershipRecorder,
  consulGet,
  createElection,
  memoryLogger,
  pollUntil,
  uniqueKey,
  waitForState,
  waitUntilNamedSuccessor,
} from '../../support/election-kit';

describe('an election on one key (real Consul)', () => {
  let agent: ConsulAgent;
  const running: LeaderElection[] = [];

  beforeAll(async () => {
    agent = await startConsulAgent();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await agent?.stop();
  });

  function candidates(key: string, ids: string[]): LeaderElection[] {
    const elections = ids.map((id) => createElection(agent, key, id));
    running.push(...elections);
    return elections;
  }

  it('elects exactly one of three candidates, and all three name the same leader', async () => {
    const key = uniqueKey('three');
    const elections = candidates(key, ['a', 'b', 'c']);
    elections.forEach((election) => election.start());

    const leader = await Promise.race(
      elections.map((election) =>
        waitForState(election, (s) => s.role === 'leader').then(() => election),
      ),
    );
    await pollUntil(
      'every candidate to see the leader',
      () =>
        elections.every((election) => election.state.leader?.instanceId === leader.instanceId) ||
        undefined,
    );

    expect(elections.filter((election) => election.isLeader())).toEqual([leader]);
    const seen = elections.map((election) => election.state.leader);
    expect(new Set(seen.map((info) => info?.instanceId))).toEqual(new Set([leader.instanceId]));
    expect(new Set(seen.map((info) => info?.fencingToken))).toEqual(
      new Set([leader.state.term!.fencingToken]),
    );
    // The token is the acquire's ModifyIndex (a Raft index): the key's index until the leader
    // rewrites its successors, and written into the value from then on.
    const [entry] = await consulGet<Array<{ ModifyIndex: number; Value: string }>>(
      agent,
      `/v1/kv/${key}`,
    );
    const value = JSON.parse(Buffer.from(entry.Value, 'base64').toString()) as { token?: number };
    expect(value.token ?? entry.ModifyIndex).toBe(leader.state.term!.fencingToken);
  });

  it('hands leadership to another candidate when the leader stops gracefully', async () => {
    const key = uniqueKey('graceful');
    const elections = candidates(key, ['a', 'b', 'c']);
    elections.forEach((election) => election.start());
    const leader = await Promise.race(
      elections.map((election) =>
        waitForState(election, (s) => s.role === 'leader').then(() => election),
      ),
    );
    const followers = elections.filter((election) => election !== leader);
    await pollUntil(
      'followers to see the leader',
      () => followers.every((f) => f.state.leader) || undefined,
    );

    const stoppedAt = performance.now();
    const next = Promise.race(
      followers.map((f) => waitForState(f, (s) => s.role === 'leader').then(() => f)),
    );
    await leader.stop();
    const successor = await next;
    console.log(
      `graceful handoff: ${(performance.now() - stoppedAt).toFixed(1)} ms from stop() to the next leader`,
    );

    expect(leader.state.role).toBe('stopped');
    expect(followers.filter((f) => f.isLeader())).toEqual([successor]);
  });

  it('gives each new leader a larger fencing token and never two leaders at once', async () => {
    const key = uniqueKey('fencing');
    const elections = candidates(key, ['a', 'b', 'c']);
    const recorder = new LeadershipRecorder();
    elections.forEach((election) => recorder.watch(election));
    elections.forEach((election) => election.start());

    for (let handoff = 0; handoff < 4; handoff += 1) {
      const leader = await Promise.race(
        elections.map((e) => waitForState(e, (s) => s.role === 'leader').then(() => e)),
      );
      await pollUntil(
        'every candidate to see the leader',
        () => elections.every((e) => e.state.leader?.instanceId === leader.instanceId) || undefined,
      );
      await leader.resign();
      await pollUntil(
        'someone else to lead',
        () => elections.some((e) => e !== leader && e.isLeader()) || undefined,
      );
    }

    const tokens = recorder.intervals.map((interval) => interval.fencingToken);
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    tokens.slice(1).forEach((token, i) => expect(token).toBeGreaterThan(tokens[i]));
    expect(recorder.overlaps()).toEqual([]);
  });

  it('aborts the term signal when leadership ends, and rejoins as follower after resign', async () => {
    const key = uniqueKey('resign');
    const [a, b] = candidates(key, ['a', 'b']);
    a.start();
    await waitForState(a, (s) => s.role === 'leader');
    b.start();
    await waitForState(b, (s) => s.leader?.instanceId === 'a');
    await waitUntilNamedSuccessor(agent, key, 'b');
    const signal = a.state.term!.signal;
    expect(signal.aborted).toBe(false);

    await a.resign({ pause: '200ms' });
    expect(signal.aborted).toBe(true);
    expect(a.isLeader()).toBe(false);
    await waitForState(b, (s) => s.role === 'leader');
    await waitForState(a, (s) => s.leader?.instanceId === 'b');
    expect(a.state.role).toBe('follower');

    await b.stop();
    await waitForState(a, (s) => s.role === 'leader');
  });

  it('leaves no session and no service of the group in Consul after stop()', async () => {
    const key = uniqueKey('cleanup');
    const elections = candidates(key, ['a', 'b', 'c']);
    elections.forEach((election) => election.start());
    await Promise.race(
      elections.map((election) => waitForState(election, (s) => s.role === 'leader')),
    );
    await pollUntil('all sessions open', async () => {
      const sessions = await consulGet<Array<{ Name: string }>>(agent, '/v1/session/list');
      return (
        sessions.filter((session) => session.Name.startsWith(`${key}#`)).length === 3 || undefined
      );
    });

    await Promise.all(running.splice(0).map((election) => election.stop()));

    const sessions = await consulGet<Array<{ Name: string }>>(agent, '/v1/session/list');
    expect(sessions.filter((session) => session.Name.startsWith(`${key}#`))).toEqual([]);
    const services = await consulGet<Record<string, { Meta?: Record<string, string> }>>(
      agent,
      '/v1/agent/services',
    );
    expect(
      Object.values(services).filter((service) => service.Meta?.['leader-key'] === key),
    ).toEqual([]);
    elections.forEach((election) => expect(election.state.role).toBe('stopped'));
  });

  it('marks the key as released on a graceful stop, so the successor acts without waiting out the lease', async () => {
    const key = uniqueKey('released');
    const successorLog: string[] = [];
    const a = createElection(agent, key, 'a');
    const b = createElection(agent, key, 'b', { logger: memoryLogger('b', successorLog) });
    running.push(a, b);
    a.start();
    await waitForState(a, (s) => s.role === 'leader');
    b.start();
    await waitForState(b, (s) => s.leader?.instanceId === 'a');
    await a.stop();
    await waitForState(b, (s) => s.role === 'leader');

    const [entry] = await consulGet<Array<{ Value: string }>>(agent, `/v1/kv/${key}`);
    expect(JSON.parse(Buffer.from(entry.Value, 'base64').toString()).instanceId).toBe('b');
    // A successor that had to wait out the old lease logs "acting in …" (see the crash spec).
    expect(successorLog.filter((line) => line.includes('acting in'))).toEqual([]);
  });

  it('leaves no timer and no socket of its own open after stop()', async () => {
    // Every timer and TCP socket created while the elections live must be gone after stop().
    const live = new Map<number, string>();
    const hook = createHook({
      init: (asyncId, type) => {
        if (type === 'Timeout' || type === 'TCPWRAP')
          live.set(asyncId, process.env.DEBUG_HANDLES ? `${type} ${new Error().stack}` : type);
      },
      destroy: (asyncId) => void live.delete(asyncId),
    }).enable();
    try {
      const key = uniqueKey('handles');
      const elections = ['a', 'b'].map((id) => createElection(agent, key, id));
      elections.forEach((election) => election.start());
      // Polled, not awaited on state$: the spec's own helpers must not add timers of their own.
      await pollUntil(
        'a leader',
        () => elections.some((election) => election.isLeader()) || undefined,
      );
      expect([...live.values()].some((kind) => kind.startsWith('TCPWRAP'))).toBe(true);

      await Promise.all(elections.map((election) => election.stop()));
      // What is open right after stop() must close (the poll's own timers come later and do not count).
      const openAtStop = [...live.keys()];
      const stillOpen = (): string[] =>
        openAtStop.filter((id) => live.has(id)).map((id) => live.get(id)!);
      await pollUntil(
        "the elections' timers and sockets to close",
        () => stillOpen().length === 0 || undefined,
        5_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: still open ${JSON.stringify(stillOpen())}`);
      });
    } finally {
      hook.disable();
    }
  });

  it('lets only the named successor try when the leader hands over: one acquire, however many wait', async () => {
    const key = uniqueKey('herd');
    const elections = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => {
      const real = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false });
      const counting = countingPort(real);
      const election = createElection(agent, key, id, { consulPort: counting.port });
      running.push(election);
      return { election, real, calls: counting.calls };
    });
    try {
      const [first, ...rest] = elections.map(({ election }) => election);
      first.start();
      await waitForState(first, (s) => s.role === 'leader');
      for (const follower of rest) follower.start();
      for (const follower of rest) await waitUntilNamedSuccessor(agent, key, follower.instanceId);

      const [entry] = await consulGet<Array<{ Value: string }>>(agent, `/v1/kv/${key}`);
      const named = (
        JSON.parse(Buffer.from(entry.Value, 'base64').toString()) as { successors: string[] }
      ).successors;
      const mark = elections.map(({ calls }) => calls.length);
      await first.resign({ pause: '1h' });
      const successor = await pollUntil('a successor', () => rest.find((e) => e.isLeader()));
      await pollUntil(
        'everyone to see it',
        () => rest.every((e) => e.state.leader?.instanceId === successor.instanceId) || undefined,
      );

      expect(successor.instanceId).toBe(named[0]);
      // The successor's acquire; nobody else tried.
      const acquires = elections
        .map(({ election, calls }, i) => ({
          id: election.instanceId,
          acquires: calls.slice(mark[i]).filter((call) => call === 'acquire').length,
        }))
        .filter(({ acquires }) => acquires > 0);
      expect(acquires).toEqual([{ id: named[0], acquires: 1 }]);
    } finally {
      await Promise.all(running.splice(0).map((election) => election.stop()));
      elections.forEach(({ real }) => real.close());
    }
  });
});
