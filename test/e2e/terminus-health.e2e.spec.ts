// The health indicator behind a real @nestjs/terminus endpoint, against a real Consul agent: the
// acceptance of issue 12 ("/health answers 200, 503 within a few seconds of the agent stopping, 200
// again once it is back").
import 'reflect-metadata';
import * as http from 'node:http';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { ConsulLeaderModule, ConsulLeaderService } from '../../lib';
import { ConsulLeaderHealthIndicator } from '../../lib/terminus';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, pollUntil, uniqueKey } from '../support/election-kit';

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly leader: ConsulLeaderHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.leader.isHealthy()]);
  }

  @Get('health/live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.leader.isHealthy('leader', { probe: 'liveness' })]);
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.leader.isHealthy('leader', { probe: 'readiness' })]);
  }
}

interface Answer {
  status: number;
  body: {
    status: string;
    info?: Record<string, Record<string, unknown>>;
    error?: Record<string, Record<string, unknown>>;
  };
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      })
      .on('error', reject);
  });
}

describe('ConsulLeaderHealthIndicator with @nestjs/terminus and a real Consul agent', () => {
  let agent: ConsulAgent;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    agent = await startConsulAgent({ forceLocal: true });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await agent?.stop();
  });

  async function startApp(key: string): Promise<number> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        ConsulLeaderModule.forRoot({
          key,
          instanceId: 'health-app',
          consul: { host: agent.host, port: agent.port },
          ...FAST_TIMINGS,
        }),
      ],
      controllers: [HealthController],
      providers: [ConsulLeaderHealthIndicator],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    return (app.getHttpServer().address() as { port: number }).port;
  }

  it('answers 200 with the election details, 503 soon after the agent stops, and 200 once it is back', async () => {
    const port = await startApp(uniqueKey('health'));
    const up = await pollUntil('a healthy leader', async () => {
      const answer = await get(port, '/health');
      return answer.status === 200 && answer.body.info?.['leader-election']?.role === 'leader'
        ? answer
        : undefined;
    });
    expect(up.body.info?.['leader-election']).toMatchObject({
      status: 'up',
      role: 'leader',
      instanceId: 'health-app',
      leader: 'health-app',
      fencingToken: expect.any(Number),
      consulReachable: true,
    });

    await agent.kill('SIGKILL');
    const stoppedAt = performance.now();
    const down = await pollUntil(
      'a 503',
      async () => {
        const answer = await get(port, '/health');
        return answer.status === 503 ? answer : undefined;
      },
      10_000,
    );
    const downAfterMs = performance.now() - stoppedAt;
    expect(down.body.error?.['leader-election']).toMatchObject({
      status: 'down',
      consulReachable: false,
      message: expect.stringContaining('longer than the lease'),
    });
    // Lease 600 ms (FAST_TIMINGS): down is reported after the lease, well within a few seconds.
    expect(downAfterMs).toBeLessThan(5_000);

    await agent.restart();
    const back = await pollUntil(
      'a 200 again',
      async () => {
        const answer = await get(port, '/health');
        return answer.status === 200 ? answer : undefined;
      },
      15_000,
    );
    expect(back.body.info?.['leader-election']).toMatchObject({
      status: 'up',
      consulReachable: true,
    });
    console.log(`health: 503 ${Math.round(downAfterMs)} ms after the agent was killed`);
  });

  it('keeps the liveness and readiness probes at 200 while Consul is down, as the status endpoint turns 503', async () => {
    const port = await startApp(uniqueKey('health-probes'));
    await pollUntil('a leader', async () =>
      (await get(port, '/health')).body.info?.['leader-election']?.role === 'leader'
        ? true
        : undefined,
    );

    await agent.kill('SIGKILL');
    try {
      await pollUntil(
        'a 503 from the status endpoint',
        async () => ((await get(port, '/health')).status === 503 ? true : undefined),
        10_000,
      );
      // The lease has run out (that is when /health turns 503): the leader has stepped down.
      const live = await get(port, '/health/live');
      const ready = await get(port, '/health/ready');
      expect(live.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(ready.body.info?.leader).toMatchObject({
        status: 'up',
        role: 'follower',
        consulReachable: false,
      });
    } finally {
      await agent.restart();
    }
  });

  it('reports down once the election has stopped', async () => {
    const port = await startApp(uniqueKey('health-stopped'));
    await pollUntil('a 200', async () =>
      (await get(port, '/health')).status === 200 ? true : undefined,
    );
    // What shutdown does first; the HTTP server still answers until app.close() goes on.
    await app!.get(ConsulLeaderService).beforeApplicationShutdown();
    const answer = await get(port, '/health');
    expect(answer.status).toBe(503);
    expect((await get(port, '/health/live')).status).toBe(503);
    expect((await get(port, '/health/ready')).status).toBe(503);
    expect(answer.body.error?.['leader-election']).toMatchObject({
      status: 'down',
      role: 'stopped',
      message: expect.stringContaining('stopped'),
    });
  });
});
