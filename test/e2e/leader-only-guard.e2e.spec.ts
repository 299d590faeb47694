// LeaderOnlyGuard over real HTTP and a real TCP microservice, with two Nest apps electing through a
// real Consul agent: a follower's caller learns where the leader is (503 + Retry-After + leader
// header, or 307 to the leader's URL with `http.redirectTo`, or a NOT_LEADER RPC error).
import 'reflect-metadata';
import * as http from 'node:http';
import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  LEADER_HEADER,
  LeaderOnly,
  LeaderOnlyGuard,
  NOT_LEADER_CODE,
  NotLeaderError,
  type ConsulLeaderHttpOptions,
} from '../../lib';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { FAST_TIMINGS, pollUntil, uniqueKey } from '../support/election-kit';
import { findFreePorts } from '../../harness/ports';

@Controller()
class JobController {
  constructor(private readonly leadership: ConsulLeaderService) {}

  @Get('jobs/run')
  @UseGuards(LeaderOnlyGuard)
  @LeaderOnly()
  run(): { ranOn: string } {
    return { ranOn: this.leadership.instanceId };
  }

  @MessagePattern('jobs.run')
  @UseGuards(LeaderOnlyGuard)
  @LeaderOnly()
  runMessage(): { ranOn: string } {
    return { ranOn: this.leadership.instanceId };
  }
}

interface RunningApp {
  readonly id: string;
  readonly app: INestApplication;
  readonly url: string;
  readonly client: ClientProxy;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function request(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: body ? (JSON.parse(body) as Record<string, unknown>) : {},
          }),
        );
      })
      .on('error', reject);
  });
}

describe('LeaderOnlyGuard on a follower, over real HTTP and TCP, with a real Consul agent', () => {
  let agent: ConsulAgent;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    agent = await startConsulAgent();
  });
  afterEach(async () => {
    for (const { app, client } of running.splice(0)) {
      await client.close();
      await app.close();
    }
  });
  afterAll(async () => {
    await agent?.stop();
  });

  async function startApp(id: string, key: string, httpOptions?: ConsulLeaderHttpOptions) {
    const [httpPort, rpcPort] = await findFreePorts(['127.0.0.1'], 2);
    const url = `http://127.0.0.1:${httpPort}`;
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConsulLeaderModule.forRoot({
          key,
          instanceId: id,
          metadata: { url },
          consul: { host: agent.host, port: agent.port },
          http: httpOptions,
          ...FAST_TIMINGS,
        }),
      ],
      controllers: [JobController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: rpcPort },
    });
    await app.startAllMicroservices();
    await app.listen(httpPort!, '127.0.0.1');
    const client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port: rpcPort },
    });
    const started: RunningApp = { id, app, url, client };
    running.push(started);
    return started;
  }

  /** Starts `leader` first and waits for it to lead, then `follower`, until it reads who leads. */
  async function leaderAndFollower(httpOptions?: ConsulLeaderHttpOptions) {
    const key = uniqueKey('guard');
    const leader = await startApp('alpha', key, httpOptions);
    await pollUntil(
      'alpha to lead',
      () => leader.app.get(ConsulLeaderService).isLeader() || undefined,
    );
    const follower = await startApp('beta', key, httpOptions);
    await pollUntil(
      'beta to read the leader',
      () => follower.app.get(ConsulLeaderService).state.leader?.instanceId === 'alpha' || undefined,
    );
    return { leader, follower };
  }

  it("answers a follower's caller 503 with Retry-After and the leader's instance id", async () => {
    const { leader, follower } = await leaderAndFollower();

    const answer = await request(`${follower.url}/jobs/run`);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.headers[LEADER_HEADER.toLowerCase()]).toBe('alpha');
    expect(answer.body).toMatchObject({ statusCode: 503, leader: 'alpha', retryAfterSeconds: 1 });

    expect(await request(`${leader.url}/jobs/run`)).toMatchObject({
      status: 200,
      body: { ranOn: 'alpha' },
    });
  });

  it("redirects a follower's caller with 307 to the URL redirectTo gives for the leader", async () => {
    const { leader, follower } = await leaderAndFollower({
      redirectTo: (current, request) =>
        typeof current.metadata.url === 'string' ? `${current.metadata.url}${request.url}` : null,
    });

    const answer = await request(`${follower.url}/jobs/run?day=monday`);
    expect(answer.status).toBe(307);
    expect(answer.headers.location).toBe(`${leader.url}/jobs/run?day=monday`);
    expect(answer.headers[LEADER_HEADER.toLowerCase()]).toBe('alpha');

    // Following the redirect reaches the leader, which runs the job.
    expect(await request(answer.headers.location!)).toMatchObject({
      status: 200,
      body: { ranOn: 'alpha' },
    });
  });

  it("fails a follower's @MessagePattern call with a NOT_LEADER error naming the leader", async () => {
    const { leader, follower } = await leaderAndFollower();

    await expect(firstValueFrom(follower.client.send('jobs.run', {}))).rejects.toMatchObject({
      status: 'error',
      code: NOT_LEADER_CODE,
      leader: 'alpha',
      retryAfterSeconds: 1,
      message: expect.stringContaining('"alpha"'),
    });
    await expect(firstValueFrom(leader.client.send('jobs.run', {}))).resolves.toEqual({
      ranOn: 'alpha',
    });
  });

  it('lets assertLeader() pass on the leader and throw a NotLeaderError naming the leader on the follower', async () => {
    const { leader, follower } = await leaderAndFollower();
    expect(() => leader.app.get(ConsulLeaderService).assertLeader('nightly billing')).not.toThrow();

    let thrown: unknown;
    try {
      follower.app.get(ConsulLeaderService).assertLeader('nightly billing');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NotLeaderError);
    expect(thrown).toMatchObject({
      name: 'NotLeaderError',
      instanceId: 'beta',
      role: 'follower',
      leader: { instanceId: 'alpha' },
      message: expect.stringContaining('nightly billing: this instance ("beta") is not the leader'),
    });
  });

  it('asks to retry after the failover time when no leader is known', async () => {
    const key = uniqueKey('guard-alone');
    // The only candidate resigns for a minute: the key is free and nobody will take it soon.
    const lone = await startApp('gamma', key);
    await pollUntil(
      'gamma to lead',
      () => lone.app.get(ConsulLeaderService).isLeader() || undefined,
    );
    await lone.app.get(ConsulLeaderService).resign({ pause: '1m' });
    await pollUntil(
      'gamma to know no leader',
      () => lone.app.get(ConsulLeaderService).state.leader === null || undefined,
    );
    const answer = await request(`${lone.url}/jobs/run`);
    expect(answer.status).toBe(503);
    expect(answer.headers[LEADER_HEADER.toLowerCase()]).toBeUndefined();
    // lockDelay 600 ms + lease 600 ms (FAST_TIMINGS), rounded up to whole seconds.
    expect(answer.headers['retry-after']).toBe('2');
  });
});
