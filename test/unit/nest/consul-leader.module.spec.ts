// How ConsulLeaderModule wires elections into Nest's DI: bootstrap errors, named elections,
// providers made every way, several apps in one process. Leadership comes from the testing stub
// (overrideProvider), so nothing here says anything about Consul: test/e2e does that.
import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Scope,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { ContextIdFactory } from '@nestjs/core';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import {
  ConsulLeaderModule,
  ConsulLeaderService,
  createConsulLeaderServiceStub,
  ElectionOptionsError,
  getConsulLeaderToken,
  InjectConsulLeader,
  LeaderOnly,
  LeaderOnlyGuard,
  type ConsulLeaderModuleOptions,
  type ConsulLeaderOptionsFactory,
  type ConsulLeaderServiceStub,
} from '../../../lib';
import { captureLogs } from './helpers';

// Options valid for the core; nothing connects before app.init(), and these tests override the service.
const options = (key = 'test/unit/leader'): ConsulLeaderModuleOptions => ({
  key,
  consul: { host: '127.0.0.1', port: 1 },
  instanceId: 'unit',
});

@Injectable()
class Jobs {
  runs = 0;
  @LeaderOnly()
  run(): string {
    this.runs += 1;
    return 'ran';
  }
}

@Injectable()
class BillingJobs {
  runs = 0;
  @LeaderOnly('billing')
  run(): void {
    this.runs += 1;
  }
}

async function compile(
  imports: unknown[],
  providers: unknown[],
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder,
) {
  let builder = Test.createTestingModule({
    imports: imports as never[],
    providers: providers as never[],
  });
  if (override) builder = override(builder);
  return builder.compile();
}

/** The line of this file that carries the comment `// <mark>`. */
function forRootLine(mark: string): number {
  const lines = fs.readFileSync(__filename, 'utf8').split('\n');
  return lines.findIndex((line) => line.trimEnd().endsWith(`// ${mark}`)) + 1;
}

describe('ConsulLeaderModule', () => {
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => (logs = captureLogs()));
  afterEach(() => logs.restore());

  describe('at bootstrap', () => {
    it('fails an app that uses @LeaderOnly without importing ConsulLeaderModule, saying to import it', async () => {
      await expect(compile([], [Jobs])).rejects.toThrow(
        /Jobs[\s\S]*@LeaderOnly\(\) needs ConsulLeaderService: import ConsulLeaderModule\.forRoot\(\)/,
      );
    });

    it('fails an app that uses @LeaderOnly(name) without that named election, naming the forRoot to add', async () => {
      await expect(compile([ConsulLeaderModule.forRoot(options())], [BillingJobs])).rejects.toThrow(
        /@LeaderOnly\('billing'\) needs ConsulLeaderService: import ConsulLeaderModule\.forRoot\(\{ name: 'billing'/,
      );
    });

    it('fails an app whose factory provider uses an election the app lacks', async () => {
      const factoryMade = { provide: 'BILLING_JOBS', useFactory: () => new BillingJobs() };
      const moduleRef = await compile([ConsulLeaderModule.forRoot(options())], [factoryMade], (b) =>
        b.overrideProvider(ConsulLeaderService).useValue(createConsulLeaderServiceStub()),
      );
      await expect(moduleRef.init()).rejects.toThrow(
        "BillingJobs uses @LeaderOnly('billing'), but this app has no such election: import ConsulLeaderModule.forRoot({ name: 'billing', ... })",
      );
      // Nothing to close: close() would rethrow the failed init, and nothing was started.
    });

    it('with isGlobal: false, fails a feature module that does not import it, saying where to import it', async () => {
      @Module({ providers: [Jobs] })
      class FeatureModule {}
      await expect(
        compile([ConsulLeaderModule.forRoot({ ...options(), isGlobal: false }), FeatureModule], []),
      ).rejects.toThrow(
        /Jobs[\s\S]*with isGlobal: false, call forRoot\(\) once, in a module that has exports: \[ConsulLeaderModule\], and import that module here/,
      );
    });

    it('fails an app with two elections on one key, naming where each forRoot was called', async () => {
      @Module({ imports: [ConsulLeaderModule.forRoot(options('test/unit/twice'))] }) // forRoot #1
      class FeatureModule {}
      const moduleRef = await compile(
        [ConsulLeaderModule.forRoot(options('test/unit/twice')), FeatureModule], // forRoot #2
        [Jobs],
      );
      const failure = moduleRef.init();
      await expect(failure).rejects.toThrow(
        /two ConsulLeaderModule elections compete for key "test\/unit\/twice"/,
      );
      const message = await failure.then(
        () => '',
        (error: Error) => error.message,
      );
      const here = path.relative(process.cwd(), __filename);
      const lines = [...message.matchAll(new RegExp(`${here.replace(/[.]/g, '\\.')}:(\\d+)`, 'g'))];
      expect(lines.map((match) => Number(match[1])).sort((a, b) => a - b)).toEqual(
        [forRootLine('forRoot #1'), forRootLine('forRoot #2')].sort((a, b) => a - b),
      );
      expect(message).toContain('exports: [ConsulLeaderModule]');
    });

    it('fails an app with two default elections on different keys: @LeaderOnly() could follow either', async () => {
      @Module({ imports: [ConsulLeaderModule.forRoot(options('test/unit/other'))] })
      class FeatureModule {}
      const moduleRef = await compile(
        [ConsulLeaderModule.forRoot(options('test/unit/main')), FeatureModule],
        [],
      );
      await expect(moduleRef.init()).rejects.toThrow(
        /two ConsulLeaderModule\.forRoot\(\) elections without a name/,
      );
    });

    it('with isGlobal: false, the advice of the missing-module error works: one forRoot, exported by a shared module', async () => {
      const stub = createConsulLeaderServiceStub({ leader: true });
      @Module({
        imports: [ConsulLeaderModule.forRoot({ ...options(), isGlobal: false })],
        exports: [ConsulLeaderModule],
      })
      class LeadershipModule {}
      @Injectable()
      class OtherJobs extends Jobs {}
      @Module({ imports: [LeadershipModule], providers: [Jobs], exports: [Jobs] })
      class FirstFeature {}
      @Module({ imports: [LeadershipModule], providers: [OtherJobs], exports: [OtherJobs] })
      class SecondFeature {}
      const moduleRef = await compile([FirstFeature, SecondFeature], [], (b) =>
        b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      await moduleRef.init();
      expect([moduleRef.get(Jobs).run(), moduleRef.get(OtherJobs).run()]).toEqual(['ran', 'ran']);
      stub.becomeFollower();
      expect([moduleRef.get(Jobs).run(), moduleRef.get(OtherJobs).run()]).toEqual([
        undefined,
        undefined,
      ]);
      await moduleRef.close();
    });

    it('fails with the core option error, field and range, prefixed with the module call', async () => {
      const failure = compile(
        [ConsulLeaderModule.forRoot({ ...options(), name: 'billing', leaseDuration: '1ms' })],
        [],
      );
      await expect(failure).rejects.toBeInstanceOf(ElectionOptionsError);
      await expect(failure).rejects.toMatchObject({
        field: 'leaseDuration',
        message: expect.stringMatching(
          /^ConsulLeaderModule\.forRoot\(\{ name: 'billing', \.\.\. \}\): invalid options: .*"leaseDuration" is "1ms"; accepted: .*200ms to 60s/,
        ),
      });
    });

    it.each([
      [
        'logger',
        { logger: {} },
        /"logger" is \{\}; accepted: an object with log, warn and error methods/,
      ],
      [
        'waitForElection',
        { waitForElection: 'false' },
        /"waitForElection" is "false"; accepted: true or false/,
      ],
      ['isGlobal', { isGlobal: 'false' }, /"isGlobal" is "false"; accepted: true or false/],
      [
        'consul.token',
        { consul: { port: 1, token: 123 } },
        /"consul\.token" is 123; accepted: a non-empty string/,
      ],
    ])('fails at bootstrap on a %s of the wrong type', async (_field, bad, message) => {
      // isGlobal is checked when forRoot() builds the module, the others when the app is compiled.
      const failure = (async () =>
        compile([ConsulLeaderModule.forRoot({ ...options(), ...(bad as object) })], []))();
      await expect(failure).rejects.toThrow(message);
    });

    it('refuses a mistyped option of forRoot, naming the option it most likely meant', async () => {
      const failure = compile(
        [ConsulLeaderModule.forRoot({ ...options(), ...({ leaseduration: '1s' } as object) })],
        [],
      );
      await expect(failure).rejects.toBeInstanceOf(ElectionOptionsError);
      await expect(failure).rejects.toMatchObject({
        field: 'leaseduration',
        message: expect.stringMatching(
          /^ConsulLeaderModule\.forRoot\(\): invalid options: .*"leaseduration" is not an option; did you mean "leaseDuration"\?/,
        ),
      });
    });

    it('refuses a mistyped option in what a forRootAsync factory returns', async () => {
      const failure = compile(
        [
          ConsulLeaderModule.forRootAsync({
            useFactory: () => ({ ...options(), waitForElecton: true }),
          }),
        ],
        [],
      );
      await expect(failure).rejects.toThrow(
        /^ConsulLeaderModule\.forRootAsync\(\): invalid options: .*"waitForElecton" is not an option; did you mean "waitForElection"\?/,
      );
    });

    it('refuses a name returned by a forRootAsync factory, saying to give it beside useFactory', async () => {
      const failure = compile(
        [
          ConsulLeaderModule.forRootAsync({
            useFactory: () => ({ ...options(), name: 'billing' }),
          }),
        ],
        [],
      );
      await expect(failure).rejects.toMatchObject({
        field: 'name',
        message: expect.stringContaining(
          'give it beside useFactory, useClass or useExisting (forRootAsync({ name, useFactory }))',
        ),
      });
    });

    it('refuses a mistyped key inside the http option, naming its path', async () => {
      const failure = compile(
        [ConsulLeaderModule.forRoot({ ...options(), http: { redirectto: () => null } as object })],
        [],
      );
      await expect(failure).rejects.toMatchObject({
        field: 'http.redirectto',
        message: expect.stringContaining('did you mean "redirectTo"?'),
      });
    });

    it('labels an option error of forRootAsync as coming from forRootAsync', async () => {
      const failure = compile(
        [
          ConsulLeaderModule.forRootAsync({
            useFactory: () => ({ ...options(), leaseDuration: '1ms' }),
          }),
        ],
        [],
      );
      await expect(failure).rejects.toThrow(
        /^ConsulLeaderModule\.forRootAsync\(\): invalid options:/,
      );
    });

    it('rejects an empty election name when decorating', () => {
      expect(() => LeaderOnly('')).toThrow('an election name must be a non-empty string');
    });

    it('rejects @LeaderOnly on a static method', () => {
      expect(() => {
        class Statics {
          @LeaderOnly()
          static run(): void {}
        }
        return Statics;
      }).toThrow('@LeaderOnly() on static Statics.run: it decorates instance methods only');
    });
  });

  describe('named elections', () => {
    @Injectable()
    class Reports {
      constructor(
        readonly main: ConsulLeaderService,
        @InjectConsulLeader('billing') readonly billing: ConsulLeaderService,
      ) {}
    }

    it('registers one service per name, each with its own election', async () => {
      const moduleRef = await compile(
        [
          ConsulLeaderModule.forRoot(options('test/unit/main')),
          ConsulLeaderModule.forRoot({ ...options('test/unit/billing'), name: 'billing' }),
        ],
        [Reports],
      );
      const reports = moduleRef.get(Reports);
      expect(reports.main).toBeInstanceOf(ConsulLeaderService);
      expect(reports.billing).toBeInstanceOf(ConsulLeaderService);
      expect(reports.main).not.toBe(reports.billing);
      expect([reports.main.name, reports.main.key]).toEqual([null, 'test/unit/main']);
      expect([reports.billing.name, reports.billing.key]).toEqual(['billing', 'test/unit/billing']);
      expect(moduleRef.get(getConsulLeaderToken('billing'))).toBe(reports.billing);
      expect(moduleRef.get(getConsulLeaderToken())).toBe(reports.main);
    });

    it('runs each @LeaderOnly(name) method by the leadership of its own election', async () => {
      const main = createConsulLeaderServiceStub();
      const billing = createConsulLeaderServiceStub({ leader: true });
      const moduleRef = await compile(
        [
          ConsulLeaderModule.forRoot(options('test/unit/main')),
          ConsulLeaderModule.forRoot({ ...options('test/unit/billing'), name: 'billing' }),
        ],
        [Jobs, BillingJobs],
        (b) =>
          b
            .overrideProvider(ConsulLeaderService)
            .useValue(main)
            .overrideProvider(getConsulLeaderToken('billing'))
            .useValue(billing),
      );
      const [jobs, billingJobs] = [moduleRef.get(Jobs), moduleRef.get(BillingJobs)];
      expect(jobs.run()).toBeUndefined();
      billingJobs.run();
      expect([jobs.runs, billingJobs.runs]).toEqual([0, 1]);
      main.becomeLeader();
      billing.becomeFollower();
      expect(jobs.run()).toBe('ran');
      billingJobs.run();
      expect([jobs.runs, billingJobs.runs]).toEqual([1, 1]);
    });
  });

  describe('forRootAsync', () => {
    @Injectable()
    class OptionsFromClass implements ConsulLeaderOptionsFactory {
      createConsulLeaderOptions(): ConsulLeaderModuleOptions {
        return options('test/unit/from-class');
      }
    }

    @Module({ providers: [OptionsFromClass], exports: [OptionsFromClass] })
    class OptionsModule {}

    it('takes options from useFactory with inject and imports', async () => {
      const moduleRef = await compile(
        [
          ConsulLeaderModule.forRootAsync({
            imports: [OptionsModule],
            inject: [OptionsFromClass],
            useFactory: (factory: OptionsFromClass) => ({
              ...factory.createConsulLeaderOptions(),
              key: 'test/unit/factory',
            }),
          }),
        ],
        [],
      );
      expect(moduleRef.get(ConsulLeaderService).key).toBe('test/unit/factory');
    });

    it('takes options from useClass', async () => {
      const moduleRef = await compile(
        [ConsulLeaderModule.forRootAsync({ useClass: OptionsFromClass })],
        [],
      );
      expect(moduleRef.get(ConsulLeaderService).key).toBe('test/unit/from-class');
    });

    it('takes options from useExisting, under a name', async () => {
      const moduleRef = await compile(
        [
          ConsulLeaderModule.forRootAsync({
            name: 'billing',
            imports: [OptionsModule],
            useExisting: OptionsFromClass,
          }),
        ],
        [],
      );
      const billing = moduleRef.get<ConsulLeaderService>(getConsulLeaderToken('billing'));
      expect([billing.name, billing.key]).toEqual(['billing', 'test/unit/from-class']);
    });
  });

  describe('providers made every way', () => {
    it('gives useFactory and useValue instances their app service through the explorer', async () => {
      const stub = createConsulLeaderServiceStub({ leader: true });
      const fromValue = new Jobs();
      const moduleRef = await compile(
        [ConsulLeaderModule.forRoot(options())],
        [
          { provide: 'FROM_FACTORY', useFactory: () => new Jobs() },
          { provide: 'FROM_VALUE', useValue: fromValue },
          { provide: 'FROM_CLASS', useClass: Jobs },
        ],
        (b) => b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      await moduleRef.init();
      for (const token of ['FROM_FACTORY', 'FROM_VALUE', 'FROM_CLASS']) {
        expect({ token, result: moduleRef.get<Jobs>(token).run() }).toEqual({
          token,
          result: 'ran',
        });
      }
      // The service is kept out of what a user sees of the instance.
      expect(Object.keys(fromValue)).toEqual(['runs']);
      expect(inspect(moduleRef.get('FROM_CLASS'))).toBe('Jobs { runs: 1 }');
      stub.becomeFollower();
      for (const token of ['FROM_FACTORY', 'FROM_VALUE', 'FROM_CLASS']) {
        expect({ token, result: moduleRef.get<Jobs>(token).run() }).toEqual({
          token,
          result: undefined,
        });
      }
      await moduleRef.close();
    });

    it('gives request-scoped instances the service through property injection', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class PerRequest {
        runs = 0;
        @LeaderOnly()
        run(): string {
          this.runs += 1;
          return 'ran';
        }
      }
      const stub = createConsulLeaderServiceStub({ leader: true });
      const moduleRef = await compile([ConsulLeaderModule.forRoot(options())], [PerRequest], (b) =>
        b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      await moduleRef.init();
      const contextId = ContextIdFactory.create();
      moduleRef.registerRequestByContextId({}, contextId);
      const instance = await moduleRef.resolve(PerRequest, contextId);
      expect(instance.run()).toBe('ran');
      stub.becomeFollower();
      expect(instance.run()).toBeUndefined();
      expect(instance.runs).toBe(1);
      await moduleRef.close();
    });

    it('gives request-scoped useFactory instances the service when the factory makes them', async () => {
      const stub = createConsulLeaderServiceStub({ leader: true });
      const moduleRef = await compile(
        [ConsulLeaderModule.forRoot(options())],
        [{ provide: 'PER_REQUEST', scope: Scope.REQUEST, useFactory: async () => new Jobs() }],
        (b) => b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      await moduleRef.init();
      const contextId = ContextIdFactory.create();
      moduleRef.registerRequestByContextId({}, contextId);
      const instance = await moduleRef.resolve<Jobs>('PER_REQUEST', contextId);
      expect(instance.run()).toBe('ran');
      stub.becomeFollower();
      expect(instance.run()).toBeUndefined();
      await moduleRef.close();
    });

    it('gives transient useFactory instances the service, also those injected at bootstrap', async () => {
      @Injectable()
      class Consumer {
        constructor(@Inject('TRANSIENT') readonly jobs: Jobs) {}
      }
      const stub = createConsulLeaderServiceStub({ leader: true });
      const moduleRef = await compile(
        [ConsulLeaderModule.forRoot(options())],
        [{ provide: 'TRANSIENT', scope: Scope.TRANSIENT, useFactory: () => new Jobs() }, Consumer],
        (b) => b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      await moduleRef.init();
      expect(moduleRef.get(Consumer).jobs.run()).toBe('ran');
      const later = await moduleRef.resolve<Jobs>('TRANSIENT');
      expect(later.run()).toBe('ran');
      await moduleRef.close();
    });

    it('fails closed for an instance no app set up, and warns once per method', () => {
      const orphan = new Jobs();
      expect(orphan.run()).toBeUndefined();
      expect(orphan.run()).toBeUndefined();
      expect(orphan.runs).toBe(0);
      const warnings = logs.lines.filter(
        (line) => line.level === 'warn' && line.message.includes('Jobs.run is skipped'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain('fail closed');
    });

    it('runs a method written against a hand-written stand-in that has only isLeader()', async () => {
      let leader = true;
      const moduleRef = await compile(
        [],
        [Jobs, { provide: ConsulLeaderService, useValue: { isLeader: () => leader } }],
      );
      const jobs = moduleRef.get(Jobs);
      expect(jobs.run()).toBe('ran');
      leader = false;
      expect(jobs.run()).toBeUndefined();
    });
  });

  describe('several apps in one process', () => {
    it('lets each app follow its own leadership', async () => {
      const stubs = [
        createConsulLeaderServiceStub({ leader: true }),
        createConsulLeaderServiceStub(),
      ];
      const apps = await Promise.all(
        stubs.map((stub) =>
          compile([ConsulLeaderModule.forRoot(options())], [Jobs], (b) =>
            b.overrideProvider(ConsulLeaderService).useValue(stub),
          ),
        ),
      );
      const [first, second] = apps.map((app) => app.get(Jobs));
      expect([first.run(), second.run()]).toEqual(['ran', undefined]);
      stubs[0].becomeFollower();
      stubs[1].becomeLeader();
      expect([first.run(), second.run()]).toEqual([undefined, 'ran']);
    });

    it('fails the second app that registers the same useValue object, which cannot follow two leaderships', async () => {
      const shared = new Jobs();
      const start = async () => {
        const moduleRef = await compile(
          [ConsulLeaderModule.forRoot(options())],
          [{ provide: Jobs, useValue: shared }],
          (b) => b.overrideProvider(ConsulLeaderService).useValue(createConsulLeaderServiceStub()),
        );
        await moduleRef.init();
        return moduleRef;
      };
      const first = await start();
      await expect(start()).rejects.toThrow(
        'Jobs (a useValue/useFactory provider) already follows @LeaderOnly() of another Nest app',
      );
      await first.close();
    });

    it('lets a second app use a useValue object once the first app has closed', async () => {
      const shared = new Jobs();
      const start = async (stub: ConsulLeaderServiceStub) => {
        const moduleRef = await compile(
          [ConsulLeaderModule.forRoot(options())],
          [{ provide: Jobs, useValue: shared }],
          (b) => b.overrideProvider(ConsulLeaderService).useValue(stub),
        );
        await moduleRef.init();
        return moduleRef;
      };
      const first = await start(createConsulLeaderServiceStub({ leader: true }));
      expect(shared.run()).toBe('ran');
      await first.close();
      expect(shared.run()).toBeUndefined(); // released: no app leads it now (fail closed)
      const second = await start(createConsulLeaderServiceStub());
      expect(shared.run()).toBeUndefined(); // follows the second app's follower
      await second.close();
    });
  });

  describe('LeaderOnlyGuard', () => {
    @Controller()
    class LeaderController {
      @Get('default')
      @UseGuards(LeaderOnlyGuard)
      @LeaderOnly()
      main(): string {
        return 'main';
      }

      @Get('billing')
      @UseGuards(LeaderOnlyGuard)
      @LeaderOnly('billing')
      billing(): string {
        return 'billing';
      }
    }

    let app: INestApplication;
    let main: ConsulLeaderServiceStub;
    let billing: ConsulLeaderServiceStub;

    beforeEach(async () => {
      main = createConsulLeaderServiceStub();
      billing = createConsulLeaderServiceStub();
      const moduleRef = await Test.createTestingModule({
        imports: [
          ConsulLeaderModule.forRoot(options()),
          ConsulLeaderModule.forRoot({ ...options('test/unit/billing'), name: 'billing' }),
        ],
        controllers: [LeaderController],
      })
        .overrideProvider(ConsulLeaderService)
        .useValue(main)
        .overrideProvider(getConsulLeaderToken('billing'))
        .useValue(billing)
        .compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
    });
    afterEach(() => app.close());

    const request = async (path: string) => {
      const { port } = app.getHttpServer().address() as { port: number };
      return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
        (resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path }, (res) => {
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body, headers: res.headers }),
              );
            })
            .on('error', reject);
        },
      );
    };
    const get = async (path: string) => {
      const { status, body } = await request(path);
      return { status, body };
    };

    it("denies a follower with 503 and lets the leader through, following the handler's election", async () => {
      expect((await get('/default')).status).toBe(503);
      main.becomeLeader();
      expect(await get('/default')).toEqual({ status: 200, body: 'main' });
      expect((await get('/billing')).status).toBe(503);
      billing.becomeLeader();
      main.becomeFollower();
      expect(await get('/billing')).toEqual({ status: 200, body: 'billing' });
      expect((await get('/default')).status).toBe(503);
    });

    it('names the leader in its answer and asks to retry after a second when one is known', async () => {
      main.becomeFollower({
        instanceId: 'the-leader',
        metadata: {},
        since: new Date(),
        fencingToken: 7,
      });
      const answer = await request('/default');
      expect(answer.status).toBe(503);
      expect(answer.headers['x-consul-leader']).toBe('the-leader');
      expect(answer.headers['retry-after']).toBe('1');
      expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 503, leader: 'the-leader' });
    });
  });

  describe('overrideProvider(ConsulLeaderService) with the stub', () => {
    @Injectable()
    class Watcher {
      seen: boolean[] = [];
      constructor(@Inject(ConsulLeaderService) readonly leadership: ConsulLeaderService) {
        leadership.isLeader$.subscribe((isLeader) => this.seen.push(isLeader));
      }
    }

    it('drives isLeader$, signal and fencingToken as the test flips the role', async () => {
      const stub = createConsulLeaderServiceStub();
      const moduleRef = await compile([ConsulLeaderModule.forRoot(options())], [Watcher], (b) =>
        b.overrideProvider(ConsulLeaderService).useValue(stub),
      );
      const watcher = moduleRef.get(Watcher);
      expect([watcher.leadership.fencingToken, watcher.leadership.signal.aborted]).toEqual([
        null,
        true,
      ]);
      stub.becomeLeader();
      const signal = watcher.leadership.signal;
      expect(watcher.leadership.fencingToken).toBe(1);
      stub.becomeFollower();
      expect(signal.aborted).toBe(true);
      stub.becomeLeader();
      expect(watcher.leadership.fencingToken).toBe(2);
      expect(watcher.seen).toEqual([false, true, false, true]);
      let completed = false;
      watcher.leadership.isLeader$.subscribe({ complete: () => (completed = true) });
      await moduleRef.close();
      expect(watcher.seen).toEqual([false, true, false, true, false]);
      expect(completed).toBe(true);
    });
  });
});
