// @LeaderOnly must keep every handler decorator working whether it is written above or below it:
// the metadata each one stores on the method must be on the final method, and the real machinery
// (scheduler, event emitter, microservice server) must call it. A wrapper that does not copy the
// metadata loses the handler; the last tests prove that this matrix notices.
import 'reflect-metadata';
import { Injectable, type INestApplicationContext, type INestMicroservice } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { EVENT_LISTENER_METADATA } from '@nestjs/event-emitter/dist/constants';
import {
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { PATTERN_HANDLER_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import {
  Cron,
  CronExpression,
  Interval,
  ScheduleModule,
  SchedulerRegistry,
  Timeout,
} from '@nestjs/schedule';
import {
  SCHEDULE_CRON_OPTIONS,
  SCHEDULE_INTERVAL_OPTIONS,
  SCHEDULE_TIMEOUT_OPTIONS,
  SCHEDULER_TYPE,
} from '@nestjs/schedule/dist/schedule.constants';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  LeaderOnly,
  type ConsulLeaderServiceStub,
} from '../../../lib';
import { findFreePorts, pollUntil } from '../../../harness';
import { captureLogs } from './helpers';

type Order = 'above' | 'below';

interface Harness {
  readonly app: INestApplicationContext;
  /** Makes the machinery call the handler once, or resolves when it has called it on its own. */
  trigger(): Promise<unknown>;
  close(): Promise<void>;
}

interface HandlerCase {
  readonly decorator: string;
  readonly make: () => MethodDecorator;
  /** Metadata keys the handler decorator stores on the method. */
  readonly keys: readonly string[];
  readonly start: (
    job: JobClass,
    stub: ConsulLeaderServiceStub,
    runs: () => number,
  ) => Promise<Harness>;
}

interface JobInstance {
  runs: number;
  run(...args: unknown[]): unknown;
}
type JobClass = new () => JobInstance;

/**
 * A class whose `run` carries `handler` and `@LeaderOnly()` in the given order, decorated exactly as
 * TypeScript does it (`Reflect.decorate` applies the list bottom-up).
 */
function makeJobClass(
  handler: MethodDecorator,
  order: Order,
  leaderOnly: MethodDecorator = LeaderOnly(),
): JobClass {
  class Job implements JobInstance {
    runs = 0;
    run(): string {
      this.runs += 1;
      return 'ran';
    }
  }
  const decorators = order === 'above' ? [leaderOnly, handler] : [handler, leaderOnly];
  const descriptor = Object.getOwnPropertyDescriptor(Job.prototype, 'run')!;
  const decorated = Reflect.decorate(
    decorators,
    Job.prototype,
    'run',
    descriptor,
  ) as PropertyDescriptor;
  Object.defineProperty(Job.prototype, 'run', decorated);
  Injectable()(Job);
  return Job;
}

async function startContext(job: JobClass, stub: ConsulLeaderServiceStub, imports: unknown[]) {
  const moduleRef = await Test.createTestingModule({
    imports: imports as never[],
    providers: [job, { provide: ConsulLeaderService, useValue: stub }],
  }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return app;
}

async function startMicroservice(job: JobClass, stub: ConsulLeaderServiceStub) {
  const [port] = await findFreePorts(['127.0.0.1'], 1);
  const moduleRef = await Test.createTestingModule({
    controllers: [job],
    providers: [{ provide: ConsulLeaderService, useValue: stub }],
  }).compile();
  const app: INestMicroservice = moduleRef.createNestMicroservice({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  await app.listen();
  const client: ClientProxy = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  await client.connect();
  const close = async () => {
    await client.close();
    await app.close();
  };
  return { app, client, close };
}

const cases: HandlerCase[] = [
  {
    decorator: '@Cron',
    make: () => Cron(CronExpression.EVERY_HOUR, { name: 'job' }),
    keys: [SCHEDULER_TYPE, SCHEDULE_CRON_OPTIONS],
    async start(job, stub) {
      const app = await startContext(job, stub, [ScheduleModule.forRoot()]);
      const registry = app.get(SchedulerRegistry);
      return {
        app,
        trigger: () => registry.getCronJob('job').fireOnTick(),
        close: () => app.close(),
      };
    },
  },
  {
    decorator: '@Interval',
    make: () => Interval('job', 20),
    keys: [SCHEDULER_TYPE, SCHEDULE_INTERVAL_OPTIONS],
    async start(job, stub, runs) {
      const app = await startContext(job, stub, [ScheduleModule.forRoot()]);
      const before = runs();
      return {
        app,
        trigger: () => pollUntil('the interval to fire', () => runs() > before, 5_000),
        close: () => app.close(),
      };
    },
  },
  {
    decorator: '@Timeout',
    make: () => Timeout('job', 10),
    keys: [SCHEDULER_TYPE, SCHEDULE_TIMEOUT_OPTIONS],
    async start(job, stub, runs) {
      const app = await startContext(job, stub, [ScheduleModule.forRoot()]);
      return {
        app,
        trigger: () => pollUntil('the timeout to fire', () => runs() > 0, 5_000),
        close: () => app.close(),
      };
    },
  },
  {
    decorator: '@OnEvent',
    make: () => OnEvent('job.requested'),
    keys: [EVENT_LISTENER_METADATA],
    async start(job, stub) {
      const app = await startContext(job, stub, [EventEmitterModule.forRoot()]);
      const emitter = app.get(EventEmitter2);
      return {
        app,
        trigger: async () => void (await emitter.emitAsync('job.requested')),
        close: () => app.close(),
      };
    },
  },
  {
    decorator: '@MessagePattern',
    make: () => MessagePattern('job.run'),
    keys: [PATTERN_METADATA, PATTERN_HANDLER_METADATA],
    async start(job, stub) {
      const { app, client, close } = await startMicroservice(job, stub);
      return {
        app,
        trigger: async () => void (await firstValueFrom(client.send('job.run', {}))),
        close,
      };
    },
  },
  {
    decorator: '@EventPattern',
    make: () => EventPattern('job.happened'),
    keys: [PATTERN_METADATA, PATTERN_HANDLER_METADATA],
    async start(job, stub, runs) {
      const { app, client, close } = await startMicroservice(job, stub);
      const trigger = async () => {
        const before = runs();
        await firstValueFrom(client.emit('job.happened', {}));
        await pollUntil('the event handler to run', () => runs() > before, 5_000);
      };
      return { app, trigger, close };
    },
  },
];

/** What the matrix asserts about the metadata: every key the handler decorator stored is on `run`. */
function expectHandlerMetadataKept(job: JobClass, handler: HandlerCase): void {
  const run = job.prototype.run;
  for (const key of handler.keys) {
    expect({ key, present: Reflect.getMetadata(key, run) !== undefined }).toEqual({
      key,
      present: true,
    });
  }
}

describe('@LeaderOnly with handler decorators', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeAll(() => (logs = captureLogs()));
  afterAll(() => logs.restore());

  describe.each(cases)('$decorator', (handler) => {
    it.each<Order>(['above', 'below'])(
      `keeps the handler's metadata and is invoked by the real machinery on the leader when written %s ${handler.decorator}`,
      async (order) => {
        const job = makeJobClass(handler.make(), order);
        expectHandlerMetadataKept(job, handler);
        expect(job.prototype.run.name).toBe('run');

        const stub = createConsulLeaderServiceStub({ leader: true });
        const made: { instance?: JobInstance } = {};
        const harness = await handler.start(job, stub, () => made.instance?.runs ?? 0);
        const instance: JobInstance = harness.app.get(job);
        made.instance = instance;
        try {
          await harness.trigger();
          expect(instance.runs).toBeGreaterThan(0);
        } finally {
          await harness.close();
        }
      },
    );
  });

  it('skips a call triggered by the real machinery while this instance is a follower', async () => {
    const stub = createConsulLeaderServiceStub({ leader: true });
    const job = makeJobClass(OnEvent('job.requested'), 'above');
    const app = await startContext(job, stub, [EventEmitterModule.forRoot()]);
    try {
      const instance = app.get(job);
      const emitter = app.get(EventEmitter2);
      await emitter.emitAsync('job.requested');
      stub.becomeFollower();
      await emitter.emitAsync('job.requested');
      expect(instance.runs).toBe(1);
      stub.becomeLeader();
      await emitter.emitAsync('job.requested');
      expect(instance.runs).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('skips @Interval ticks while a follower and runs them again once leader', async () => {
    const stub = createConsulLeaderServiceStub();
    const job = makeJobClass(Interval('job', 15), 'below');
    const app = await startContext(job, stub, [ScheduleModule.forRoot()]);
    try {
      const instance = app.get(job);
      const registry = app.get(SchedulerRegistry);
      expect(registry.getIntervals()).toContain('job');
      // A control interval on the same period counts ticks, so the test waits on ticks, not on time.
      let controlTicks = 0;
      registry.addInterval(
        'control',
        setInterval(() => (controlTicks += 1), 15),
      );
      await pollUntil('four ticks', () => controlTicks >= 4, 5_000);
      expect(instance.runs).toBe(0);
      stub.becomeLeader();
      await pollUntil('a tick on the leader', () => instance.runs > 0, 5_000);
    } finally {
      await app.close();
    }
  });

  describe('a wrapper that does not copy metadata (regression: proves the matrix can fail)', () => {
    const naiveLeaderOnly: MethodDecorator = (_target, _key, descriptor) => {
      const original = descriptor.value as unknown as (...args: unknown[]) => unknown;
      descriptor.value = function (this: unknown, ...args: unknown[]) {
        return original.apply(this, args);
      } as never;
      return descriptor;
    };

    it.each(cases)('loses the $decorator metadata when written above it', (handler) => {
      const job = makeJobClass(handler.make(), 'above', naiveLeaderOnly);
      expect(() => expectHandlerMetadataKept(job, handler)).toThrow();
    });

    it('loses the @Interval job: the scheduler never registers it', async () => {
      const job = makeJobClass(Interval('job', 15), 'above', naiveLeaderOnly);
      const app = await startContext(job, createConsulLeaderServiceStub({ leader: true }), [
        ScheduleModule.forRoot(),
      ]);
      try {
        expect(app.get(SchedulerRegistry).getIntervals()).not.toContain('job');
      } finally {
        await app.close();
      }
    });

    it('loses the @OnEvent listener: emitting the event does not call it', async () => {
      const job = makeJobClass(OnEvent('job.requested'), 'above', naiveLeaderOnly);
      const app = await startContext(job, createConsulLeaderServiceStub({ leader: true }), [
        EventEmitterModule.forRoot(),
      ]);
      try {
        await app.get(EventEmitter2).emitAsync('job.requested');
        expect(app.get(job).runs).toBe(0);
      } finally {
        await app.close();
      }
    });
  });
});
