import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  type ConsulLeaderServiceStub,
} from '../../lib';
import { AppModule } from '../../sample/app.module';
import { JobsService } from '../../sample/jobs.service';
import type { LeaderStatus } from '../../sample/leader.controller';

/*
 * The sample app tested the way the README's "Testing your own app" tells users to: the whole
 * AppModule, with ConsulLeaderService swapped for the library's stub. No Consul is involved; the
 * demo (npm start) runs the same app against a real agent.
 */
describe('the sample app with the service stub (README: testing your own app)', () => {
  let leadership: ConsulLeaderServiceStub;
  let app: INestApplication;
  let baseUrl: string;

  beforeEach(async () => {
    leadership = createConsulLeaderServiceStub({ instanceId: 'sample-under-test' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(ConsulLeaderService)
      .useValue(leadership)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await app.close();
  });

  async function getLeader(): Promise<LeaderStatus> {
    const response = await fetch(`${baseUrl}/leader`);
    expect(response.status).toBe(200);
    return (await response.json()) as LeaderStatus;
  }

  test('GET /leader answers as a follower, naming the instance that leads', async () => {
    leadership.becomeFollower({
      instanceId: 'other-instance',
      metadata: { url: 'http://127.0.0.1:1' },
      since: new Date('2026-01-01T00:00:00Z'),
      fencingToken: 41,
    });

    expect(await getLeader()).toEqual({
      instanceId: 'sample-under-test',
      isLeader: false,
      leader: {
        instanceId: 'other-instance',
        metadata: { url: 'http://127.0.0.1:1' },
        since: '2026-01-01T00:00:00.000Z',
        fencingToken: 41,
      },
      leaderKnown: true,
      fencingToken: null,
    });
  });

  test('GET /leader says that no leader is known, not that nobody leads, before the first read', async () => {
    expect(await getLeader()).toMatchObject({ isLeader: false, leader: null, leaderKnown: false });
    leadership.becomeFollower(null);
    expect(await getLeader()).toMatchObject({ isLeader: false, leader: null, leaderKnown: true });
  });

  test('GET /leader answers as the leader with its fencing token', async () => {
    leadership.becomeLeader(42);

    expect(await getLeader()).toMatchObject({
      instanceId: 'sample-under-test',
      isLeader: true,
      leader: { instanceId: 'sample-under-test', fencingToken: 42 },
      fencingToken: 42,
    });
  });

  test('the job is skipped while the instance follows', () => {
    const log = jest.spyOn(Logger.prototype, 'log');

    expect(app.get(JobsService).tick()).toBeUndefined();
    expect(log).not.toHaveBeenCalledWith(expect.stringMatching(/^tick/));
  });

  test('the job ticks with the fencing token as leader and gives up when the term ends', async () => {
    const log = jest.spyOn(Logger.prototype, 'log');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    leadership.becomeLeader(7);

    const running = app.get(JobsService).tick();
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^tick \d+ \(fencing token 7\)$/));
    leadership.becomeFollower();
    await running;

    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/abandoned: leadership ended/));
  });
});
