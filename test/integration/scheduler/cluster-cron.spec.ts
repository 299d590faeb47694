// The claim core on a real Consul agent: two instances, each with an election and a runner of the
// same job on the same record, a graceful handoff between them, and the ledger of every fire.
import { LeaderElection, NodeConsulPort, systemClock } from '../../../lib/election';
import { ClockOffset } from '../../../lib/scheduler/clock-offset';
import type { FireEvent } from '../../../lib/scheduler/cluster-job';
import { jobRecordKey } from '../../../lib/scheduler/job-record';
import { JobRunner } from '../../../lib/scheduler/job-runner';
import { electionLeadership } from '../../../lib/scheduler/leadership';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import {
  FAST_TIMINGS,
  memoryLogger,
  pollUntil,
  uniqueKey,
  waitForState,
} from '../../support/election-kit';

interface Instance {
  readonly id: string;
  readonly port: NodeConsulPort;
  readonly election: LeaderElection;
  readonly runner: JobRunner;
  readonly logs: string[];
  readonly clockOffset: ClockOffset;
  dispose(): Promise<void>;
}

describe('a cluster cron job on a real agent', () => {
  let agent: ConsulAgent;
  beforeAll(async () => {
    agent = await startConsulAgent();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('runs each fire once across a graceful handoff, with tokens that grow from fire to fire', async () => {
    const key = uniqueKey('cluster-cron');
    const events: FireEvent[] = [];
    const instance = (id: string): Instance => {
      const port = new NodeConsulPort({ host: agent.host, port: agent.port, secure: false });
      const logger = memoryLogger(id);
      const election = new LeaderElection({
        key,
        instanceId: id,
        consul: { host: agent.host, port: agent.port },
        consulPort: port,
        logger,
        ...FAST_TIMINGS,
      });
      const leadership = electionLeadership(election, port, 1_000);
      const clockOffset = new ClockOffset();
      const runner = new JobRunner({
        job: {
          name: 'every-second',
          cronTime: '* * * * * *',
          overlap: 'skip',
          misfire: 'run-once',
          orphans: 'record',
          graceMs: 1_000,
          handler: () => undefined,
        },
        port,
        clock: systemClock,
        leadership,
        instanceId: id,
        recordKey: jobRecordKey(key, 'every-second'),
        requestTimeoutMs: 1_000,
        logger,
        onEvent: (event) => events.push(event),
        clockOffset,
      });
      election.start();
      runner.start();
      return {
        id,
        port,
        election,
        runner,
        logs: logger.lines,
        clockOffset,
        dispose: async () => {
          await runner.stop();
          await election.stop();
          leadership.dispose();
          port.close();
        },
      };
    };
    const a = instance('a');
    await waitForState(a.election, (state) => state.role === 'leader');
    const b = instance('b');
    const startedBy = (id: string): number =>
      events.filter((event) => event.kind === 'started' && event.instanceId === id).length;
    try {
      await pollUntil('a runs 3 fires', async () => startedBy('a') >= 3, 10_000);
      await a.election.resign();
      await waitForState(b.election, (state) => state.role === 'leader');
      await pollUntil('b runs 3 fires', async () => startedBy('b') >= 3, 10_000);
    } finally {
      await b.dispose();
      await a.dispose();
    }
    const started = events.flatMap((event) => (event.kind === 'started' ? [event] : []));
    const fires = started.map((event) => event.fireTime);
    // Once per fire…
    expect(new Set(fires).size).toBe(fires.length);
    // …in order of fire time, with tokens that only grow.
    expect(fires).toEqual([...fires].sort((x, y) => x - y));
    const tokens = started.map((event) => event.token);
    for (let i = 1; i < tokens.length; i += 1) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]);
    // No fire between the first and the last is lost in silence: run, or skipped with a reason.
    const skipped = new Set(
      events.flatMap((event) =>
        event.kind === 'skipped' && event.fireTime ? [event.fireTime] : [],
      ),
    );
    for (let t = fires[0]; t <= fires.at(-1)!; t += 1_000) {
      expect(fires.includes(t) || skipped.has(t)).toBe(true);
    }
    const lags = started.map((event) => event.at - event.fireTime);
    process.stdout.write(
      `cluster cron on a real agent: ${started.length} fires (${started.map((e) => e.instanceId).join('')}), ` +
        `${skipped.size} skipped, start lag max ${Math.max(...lags)} ms, tokens ${tokens.join(' ')}, ` +
        `clock offset of a within [${a.clockOffset.bounds()?.low}, ${a.clockOffset.bounds()?.high}] ms\n`,
    );
    // Both instances bounded their clock's offset against the agent's (the same clock here).
    for (const { clockOffset } of [a, b]) {
      expect(clockOffset.bounds()?.low).toBeLessThanOrEqual(0);
      expect(clockOffset.bounds()?.high).toBeGreaterThanOrEqual(0);
      expect(clockOffset.beyond(2_000)).toBeNull();
    }
    expect(startedBy('a')).toBeGreaterThanOrEqual(3);
    expect(startedBy('b')).toBeGreaterThanOrEqual(3);
  }, 40_000);
});
