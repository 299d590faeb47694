// Misconfiguration against real servers: an address that serves HTTP but is no Consul agent (a tiny
// node:http server on loopback), and a real Consul agent whose servers refuse the session TTL. Each
// must be reported within seconds as `misconfigured`, at ERROR, with health down — not retried for
// ever as if Consul were briefly away — and `sessionTtl: '5s'` must be refused before any request.
import 'reflect-metadata';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import {
  ConsulLeaderModule,
  ElectionOptionsError,
  ElectionStartError,
  LeaderElection,
} from '../../../lib';
import { ConsulLeaderHealthIndicator } from '../../../lib/terminus';
import { startConsulAgent, type ConsulAgent } from '../../../harness';
import { createElection, memoryLogger, pollUntil, uniqueKey } from '../../support/election-kit';

/** An HTTP server on loopback that is not Consul: it answers every request with `status` and `body`. */
async function notConsul(
  status: number,
  body = '',
  contentType = 'text/plain',
): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('an address that is not a Consul agent (real HTTP server)', () => {
  const running: LeaderElection[] = [];
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('is reported as misconfigured at ERROR within seconds, and asked again slowly', async () => {
    const server = await notConsul(404, '404 page not found');
    servers.push(server);
    const lines: string[] = [];
    const election = createElection(
      { host: '127.0.0.1', port: server.port },
      uniqueKey('nc'),
      'a',
      {
        logger: memoryLogger('a', lines),
      },
    );
    running.push(election);
    const startedAt = performance.now();
    void election.start();
    await pollUntil('the misconfiguration in the state', () =>
      election.state.problem?.kind === 'misconfigured' ? true : undefined,
    );
    const reportedMs = performance.now() - startedAt;
    expect(reportedMs).toBeLessThan(5_000);
    const errors = lines.filter((line) => line.startsWith('a error '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/HTTP 404.*does not answer as a Consul agent.*CONSUL_HTTP_ADDR/);
    expect(election.state.problem!.message).toContain(`http://127.0.0.1:${server.port}`);
    // No tight loop on the server while it lasts: the agent API is asked again only after 30 s.
    const before = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const registers = server.requests.filter((line) => line.includes('/agent/service/register'));
    expect(registers).toHaveLength(1);
    expect(server.requests.length - before).toBeLessThan(40);
  });

  it('without a health check, takes its 404 to session create for misconfiguration, not for a missing local agent retried at once', async () => {
    const server = await notConsul(404);
    servers.push(server);
    const election = createElection(
      { host: '127.0.0.1', port: server.port },
      uniqueKey('nc'),
      'a',
      {
        healthCheck: false,
      },
    );
    running.push(election);
    void election.start();
    await pollUntil('the misconfiguration in the state', () =>
      election.state.problem?.kind === 'misconfigured' ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const creates = server.requests.filter((line) => line.startsWith('PUT /v1/session/create'));
    expect(creates).toHaveLength(1);
  });

  it('is misconfigured when it answers 200 with a page that is not Consul JSON', async () => {
    const server = await notConsul(200, '<html><body>Welcome</body></html>', 'text/html');
    servers.push(server);
    const election = createElection({ host: '127.0.0.1', port: server.port }, uniqueKey('nc'), 'a');
    running.push(election);
    void election.start();
    const problem = await pollUntil('the misconfiguration in the state', () =>
      election.state.problem?.kind === 'misconfigured' ? election.state.problem : undefined,
    );
    expect(problem.message).toMatch(/does not answer as a Consul agent/);
  });

  it('turns the health indicator down, with the fix as the reason, within seconds', async () => {
    const server = await notConsul(404);
    servers.push(server);
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule,
        ConsulLeaderModule.forRoot({
          key: uniqueKey('nc-health'),
          consul: { host: '127.0.0.1', port: server.port },
          logger: memoryLogger('nest'),
        }),
      ],
      providers: [ConsulLeaderHealthIndicator],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const indicator = app.get(ConsulLeaderHealthIndicator);
      const health = await pollUntil('health down', () => {
        const result = indicator.isHealthy()['leader-election'];
        return result.status === 'down' ? result : undefined;
      });
      expect(health.message).toMatch(/HTTP 404.*does not answer as a Consul agent/);
    } finally {
      await app.close();
    }
  });

  it('with failFast, fails the Nest bootstrap with the misconfiguration', async () => {
    const server = await notConsul(404);
    servers.push(server);
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConsulLeaderModule.forRoot({
          key: uniqueKey('nc-fail-fast'),
          consul: { host: '127.0.0.1', port: server.port },
          logger: memoryLogger('nest'),
          failFast: true,
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const startedAt = performance.now();
    await expect(app.init()).rejects.toBeInstanceOf(ElectionStartError);
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    await app.close();
  });
});

describe('a session TTL Consul refuses (real Consul agent)', () => {
  let agent: ConsulAgent;
  const running: LeaderElection[] = [];

  beforeAll(async () => {
    // Consul's own default session_ttl_min (the harness otherwise lowers it for fast tests).
    agent = await startConsulAgent({ sessionTtlMin: '10s' });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("refuses sessionTtl '5s' at construction, where Consul would refuse it with every session", async () => {
    const consulSays = await fetch(`http://${agent.host}:${agent.port}/v1/session/create`, {
      method: 'PUT',
      body: JSON.stringify({ TTL: '5s' }),
    });
    expect(consulSays.status).toBe(500);
    expect(await consulSays.text()).toMatch(
      /Invalid Session TTL .* must be between \[10s=24h0m0s\]/,
    );

    const construct = () =>
      new LeaderElection({
        key: uniqueKey('ttl'),
        consul: { host: agent.host, port: agent.port },
        sessionTtl: '5s',
      });
    expect(construct).toThrow(ElectionOptionsError);
    expect(construct).toThrow(/"sessionTtl" is "5s"; accepted: a duration from 10s to 86400s/);
  });

  it('reports a TTL under a raised session_ttl_min as misconfigured, not as Consul being away', async () => {
    const strict = await startConsulAgent({ sessionTtlMin: '60s' });
    try {
      const lines: string[] = [];
      const election = createElection(strict, uniqueKey('ttl-min'), 'a', {
        sessionTtl: '30s',
        sessionTtlMin: undefined,
        logger: memoryLogger('a', lines),
      });
      running.push(election);
      void election.start();
      const problem = await pollUntil('the misconfiguration in the state', () =>
        election.state.problem?.kind === 'misconfigured' ? election.state.problem : undefined,
      );
      expect(problem.message).toMatch(/Invalid Session TTL.*session_ttl_min/);
      expect(election.state.consulReachable).toBe(true);
      expect(lines.filter((line) => line.startsWith('a error '))).toHaveLength(1);
      await election.stop();
    } finally {
      await strict.stop();
    }
  });
});
