import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startConsulAgent, type ConsulAgent } from '../../harness';
import { pollUntil } from '../support/election-kit';
import { findFreePorts } from '../../harness/ports';
import { FixtureProcess, waitForAny, type FixtureEvent } from './fixture-process';
import {
  compileFixture,
  installFixture,
  NEST11_CJS,
  NEST12_ESM,
  readmeFixture,
  REPO_ROOT,
  writeFixture,
  type Fixture,
  type FixtureSpec,
} from './fixtures';
import { packagingNode } from './node-binary';
import { listTarball, packLibrary, type PackedLibrary } from './pack';
import { run, type RunResult } from './run';

/*
 * Packaging proof (issue 4): what users install is the tarball, not lib/. So: `npm pack`, install
 * the .tgz into a NestJS 11 CommonJS app and a NestJS 12 ESM app made from scratch, type-check
 * them against the shipped .d.ts, load the package with require() and import, and run two
 * processes of each app against a real Consul: one leader, its @Cron @LeaderOnly job runs and the
 * follower's does not; when the leader closes, the other takes over with a larger fencing token.
 *
 * PACKAGING_KEEP_TMP=1 keeps the temp folder (fixtures, their node_modules, the tarball).
 */

const SPECS: readonly FixtureSpec[] = [NEST11_CJS, NEST12_ESM];
/** The README's snippets as a newcomer pastes them into a fresh NestJS 11 app and a fresh 12 one. */
const README_SPECS: readonly FixtureSpec[] = SPECS.map(readmeFixture);
const ALL_SPECS = [...SPECS, ...README_SPECS];

/** Errors that would mean the CommonJS library cannot sit under an ESM-only NestJS. */
const MODULE_FORMAT_ERRORS =
  /ERR_REQUIRE_ESM|ERR_REQUIRE_ASYNC_MODULE|ERR_REQUIRE_CYCLE_MODULE|ERR_MODULE_NOT_FOUND|ERR_PACKAGE_PATH_NOT_EXPORTED|does not provide an export named|ExperimentalWarning/;

const timings: Record<string, number> = {};
const started = Date.now();
let tmp: string;
let packed: PackedLibrary;
/** The Node the fixture apps run on (PACKAGING_NODE=<major>, else this one); see node-binary.ts. */
let node: { binary: string; major: number };
let consul: Promise<ConsulAgent> | undefined;
const fixtures = new Map<string, Fixture>();
const installs = new Map<string, RunResult>();
const compiles = new Map<string, RunResult>();
const processes: FixtureProcess[] = [];

function time<T>(label: string, work: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return work().finally(() => {
    timings[label] = Date.now() - t0;
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-consul-leader-packaging-'));
  consul = time('consul agent', () => startConsulAgent());
  // The rejection is the Consul test's to report; the install and load tests still run.
  consul.catch(() => undefined);
  node = await time('node binary', () => packagingNode());
  packed = await time('npm pack', () => obtainTarball(path.join(tmp, 'pack')));
  for (const spec of ALL_SPECS) fixtures.set(spec.name, writeFixture(tmp, spec, packed.tarball));
  await Promise.all(
    ALL_SPECS.map(async (spec) => {
      const fixture = fixtures.get(spec.name)!;
      installs.set(spec.name, await time(`install ${spec.name}`, () => installFixture(fixture)));
      // Compile here, both fixtures at once; the type-check test reports the outcome.
      compiles.set(spec.name, await time(`tsc ${spec.name}`, () => compileFixture(fixture)));
    }),
  );
}, 400_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  const agent = await consul?.catch(() => undefined);
  await agent?.stop();
  timings.total = Date.now() - started;
  console.log(
    `[packaging] timings (ms): ${JSON.stringify(timings)}\n[packaging] temp folder: ${tmp}`,
  );
  if (tmp && process.env.PACKAGING_KEEP_TMP !== '1')
    fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

/** PACKAGING_TARBALL tests an existing .tgz (e.g. the one CI is about to publish) instead of packing. */
async function obtainTarball(destination: string): Promise<PackedLibrary> {
  const given = process.env.PACKAGING_TARBALL;
  return given ? listTarball(path.resolve(given)) : packLibrary(destination);
}

/** The smaller tick count of the two jobs (one per decorator order) in `child`. */
function ticksPerJob(child: FixtureProcess): number {
  const ticks = child.named('tick');
  return Math.min(...['below', 'above'].map((job) => ticks.filter((t) => t.job === job).length));
}

describe('the Node the fixtures run on', () => {
  it("is the major that PACKAGING_NODE asks for (this process's own when unset)", async () => {
    const version = await run(node.binary, ['--version'], { cwd: tmp });
    expect(version.stdout.trim()).toMatch(new RegExp(`^v${node.major}\\.`));
    console.log(`[packaging] fixtures run on Node ${version.stdout.trim()} (${node.binary})`);
  });
});

describe('the packed tarball', () => {
  it('ships the built entry points and their types, and no sources or tests', () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        // The subpath entries (`nestjs-consul-leader/terminus`, `/metrics`) with their optional peers.
        'dist/terminus/index.js',
        'dist/terminus/index.d.ts',
        'dist/metrics/index.js',
        'dist/metrics/index.d.ts',
        // The `nestjs-consul-leader` bin.
        'dist/cli/main.js',
      ]),
    );
    const stray = packed.files.filter(
      (file) =>
        /^(lib|test|sample|bench|scripts|node_modules)\//.test(file) ||
        file.endsWith('.tsbuildinfo'),
    );
    expect(stray).toEqual([]);
  });

  it('holds no stale build output: every dist/ module has a source in lib/', () => {
    // `npm run build` does not empty dist/, so a module deleted from lib/ would still be published.
    const orphans = packed.files
      .filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
      .filter(
        (file) =>
          !fs.existsSync(
            path.join(REPO_ROOT, file.replace(/^dist\//, 'lib/').replace(/\.js$/, '.ts')),
          ),
      );
    expect(orphans).toEqual([]);
  });
});

describe.each(SPECS.map((spec) => [spec.name, spec] as const))('%s fixture', (name, spec) => {
  const fixture = (): Fixture => fixtures.get(name)!;

  it(`installs the tarball next to NestJS ${spec.nest} with one copy of @nestjs/common`, async () => {
    const install = installs.get(name)!;
    expect(install.stderr).not.toMatch(/ERESOLVE|peer dep/i);
    const dir = fixture().dir;
    const installed = JSON.parse(
      fs.readFileSync(path.join(dir, 'node_modules', '@nestjs', 'common', 'package.json'), 'utf8'),
    ) as { version: string; type?: string };
    expect(Number(installed.version.split('.')[0])).toBe(spec.nest);
    expect(installed.type === 'module').toBe(spec.format === 'module');
    // A nested copy under the library would be a second Nest instance (a second DI world).
    expect(
      fs.existsSync(
        path.join(dir, 'node_modules', 'nestjs-consul-leader', 'node_modules', '@nestjs'),
      ),
    ).toBe(false);
  });

  it(`loads with ${spec.format === 'module' ? 'import' : 'require()'} and shares the app's @nestjs/common`, async () => {
    const probe = await run(node.binary, [spec.probe], {
      cwd: fixture().dir,
      allowFailure: true,
    });
    expect({ code: probe.code, stderr: probe.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(probe.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      format: spec.format,
      forRoot: 'function',
      leaderOnly: 'function',
      service: 'function',
      sameCommon: true,
    });
    expect(report.exports).toEqual(
      expect.arrayContaining(['ConsulLeaderModule', 'ConsulLeaderService', 'LeaderOnly']),
    );
    expect(report.commonFromLib).toBe(report.commonFromApp);
  });

  it(`type-checks against the package's .d.ts and compiles (${String(spec.compilerOptions.module)})`, async () => {
    const result = compiles.get(name)!;
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: '',
    });
    expect(fs.existsSync(fixture().main)).toBe(true);
  });

  it('installs the status CLI as a bin (npx nestjs-consul-leader status) that asks Consul', async () => {
    const agent = await consul!;
    const bin = path.join(fixture().dir, 'node_modules', '.bin', 'nestjs-consul-leader');
    const result = await run(bin, ['status', 'packaging/never-held', '--json'], {
      cwd: fixture().dir,
      env: { ...process.env, CONSUL_HTTP_ADDR: `${agent.host}:${agent.port}` },
      allowFailure: true,
    });
    // Exit 1: nobody holds the key (docs/operations/status-cli.md).
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({
      key: 'packaging/never-held',
      state: 'absent',
    });
  });

  it('runs two instances against Consul: only the leader runs the @Cron @LeaderOnly jobs (both orders), then it hands over', async () => {
    const agent = await consul!;
    if (!fs.existsSync(fixture().main)) throw new Error(`${fixture().main} was not compiled`);
    const t0 = Date.now();
    const env = {
      // Short: the default health-check service name is derived from the key and Consul caps it.
      FIXTURE_KEY: `packaging/${name}-${Date.now().toString(36)}`,
      FIXTURE_CONSUL_HOST: agent.host,
      FIXTURE_CONSUL_PORT: String(agent.port),
    };
    const pair = ['a', 'b'].map((suffix) => {
      const child = new FixtureProcess({
        cwd: fixture().dir,
        main: fixture().main,
        instance: `${name}-${suffix}`,
        env,
        node: node.binary,
      });
      processes.push(child);
      return child;
    });

    // Both boot, and DI hands the job the app's own ConsulLeaderService.
    for (const child of pair) {
      const ready = await child.waitFor('"ready"', (e) => e.event === 'ready', 30_000);
      expect(ready).toMatchObject({ injected: true, isService: true });
    }

    // One of them wins; its jobs tick while the other's stay silent.
    const isLeaderEvent = (e: FixtureEvent): boolean =>
      e.event === 'leadership' && e.isLeader === true;
    const { process: leader } = await waitForAny(pair, 'a leader', isLeaderEvent, 20_000);
    const follower = pair.find((p) => p !== leader)!;
    // Both instances agree on who leads (leader$ as each sees it).
    for (const child of pair) {
      await child.waitFor(
        `leader$ naming ${leader.instance}`,
        (e) => e.event === 'leader' && e.leader === leader.instance,
        10_000,
      );
    }
    await leader.waitUntil(
      '3 ticks of each job on the leader',
      () => ticksPerJob(leader) >= 3,
      10_000,
    );
    expect(follower.named('tick')).toEqual([]);
    expect(follower.named('leadership').map((e) => e.isLeader)).toEqual([false]);
    const leaderTicks = leader.named('tick');
    for (const tick of leaderTicks) {
      expect(tick).toMatchObject({ isLeader: true, fencingToken: expect.any(Number) });
    }
    const firstTerm = leaderTicks[0].fencingToken as number;

    // The leader closes (app.close(), as on a deploy); the follower takes over and its job runs.
    const closed = await leader.close();
    const asked = leader.named('closing')[0];
    expect(await leader.waitExit(10_000)).toBe(0);
    // It stepped down during close, and no job of it ran after that.
    const steppedDown = leader.events.findIndex(
      (e, i) =>
        i > leader.events.indexOf(leaderTicks[0]) && e.event === 'leadership' && !e.isLeader,
    );
    expect(steppedDown).toBeGreaterThan(-1);
    expect(leader.events.slice(steppedDown).filter((e) => e.event === 'tick')).toEqual([]);
    expect(steppedDown).toBeLessThan(leader.events.indexOf(closed));
    const takeover = await follower.waitFor('leadership after the handover', isLeaderEvent, 15_000);
    await follower.waitUntil(
      '2 ticks of each job on the new leader',
      () => ticksPerJob(follower) >= 2,
      10_000,
    );
    const newTicks = follower.named('tick');
    for (const tick of newTicks) {
      expect(tick).toMatchObject({ isLeader: true, fencingToken: expect.any(Number) });
      expect(tick.fencingToken as number).toBeGreaterThan(firstTerm);
    }
    // Never two leaders at once: the new leader's first tick comes after the old leader's last.
    const lastOld = Math.max(...leader.named('tick').map((t) => t.at));
    expect(newTicks[0].at).toBeGreaterThanOrEqual(lastOld);
    timings[`handover ${name}`] = takeover.at - asked.at;

    await follower.close();
    expect(await follower.waitExit(10_000)).toBe(0);
    for (const child of pair) expect(child.stderr).not.toMatch(MODULE_FORMAT_ERRORS);
    timings[`run ${name}`] = Date.now() - t0;
  }, 90_000);
});

/** `node --env-file`-free settings a user would export: where Consul is, which port to listen on. */
async function quickStartEnv(port: number): Promise<Record<string, string>> {
  const agent = await consul!;
  return { CONSUL_HTTP_ADDR: `${agent.host}:${agent.port}`, PORT: String(port) };
}

/**
 * Nest's shutdown hooks close the app on SIGTERM, then raise the signal again: the process ends by
 * SIGTERM after a clean close. Exit code 0 would do as well.
 */
function stoppedByShutdownHooks(child: FixtureProcess): boolean {
  return child.exitCode === 0 || child.exitSignal === 'SIGTERM';
}

/** A fire of the README's `@ClusterCron` job (reports.job.ts), with its fire time. */
const REPORT_LINE = /Report for (\S+) \(fencing token \d+\)/g;

describe.each(README_SPECS.map((spec) => [spec.name, spec] as const))(
  "the README's snippets in a fresh app: %s",
  (name, spec) => {
    const fixture = (): Fixture => fixtures.get(name)!;

    it(`compile as pasted, under NestJS ${spec.nest} (${String(spec.compilerOptions.module)})`, () => {
      const result = compiles.get(name)!;
      expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
        code: 0,
        output: '',
      });
    });

    it("the Testing section's test passes with the stub (node --test)", async () => {
      const test = await run(
        process.execPath,
        ['--test', path.join('dist', 'invoices.job.test.js')],
        { cwd: fixture().dir, allowFailure: true, timeoutMs: 60_000 },
      );
      expect({ code: test.code, out: test.stdout.match(/^# (pass|fail) \d+$/gm) }).toEqual({
        code: 0,
        out: ['# pass 1', '# fail 0'],
      });
    });

    it('the Quick start app runs as written: two instances on one machine, one leads and its job runs, SIGTERM hands over', async () => {
      if (!fs.existsSync(fixture().main)) throw new Error(`${fixture().main} was not compiled`);
      const ports = await findFreePorts(['127.0.0.1'], 2);
      const [first, second] = await Promise.all(
        ['a', 'b'].map(async (suffix, i) => {
          const child = new FixtureProcess({
            cwd: fixture().dir,
            main: fixture().main,
            instance: `${name}-${suffix}`,
            env: await quickStartEnv(ports[i]),
          });
          processes.push(child);
          return child;
        }),
      );
      try {
        const leads = (child: FixtureProcess) =>
          /Became leader of "service\/billing\/leader"/.test(child.stdout);
        const reports = (child: FixtureProcess) => (child.stdout.match(REPORT_LINE) ?? []).length;
        const sends = (child: FixtureProcess) =>
          (child.stdout.match(/Sending due invoices \(fencing token \d+\)/g) ?? []).length;
        // Polled: each process's own waiters wake only on its own output, and a quiet follower
        // prints nothing while the other one takes the lead.
        await pollUntil('one instance to lead', () => leads(first) || leads(second), 30_000);
        const [leader, follower] = leads(first) ? [first, second] : [second, first];
        await leader.waitUntil("the leader's job to run", () => sends(leader) >= 1, 20_000);
        expect(sends(follower)).toBe(0);
        // The @ClusterCron job (every 5 s) runs on the leader too, each fire once.
        await leader.waitUntil(
          "the leader's @ClusterCron fire",
          () => reports(leader) >= 1,
          20_000,
        );
        expect(reports(follower)).toBe(0);
        // Both listen (PORT), and the follower's skipped ticks are logged once, not on every tick.
        for (const child of [leader, follower])
          expect(child.stdout).toMatch(/Nest application successfully started/);
        expect((follower.stdout.match(/Skipped InvoicesJob/g) ?? []).length).toBeLessThanOrEqual(1);
        leader.signal('SIGTERM');
        await leader.waitExit(15_000);
        expect(stoppedByShutdownHooks(leader)).toBe(true);
        // It released the key on its way out (not a crash that Consul had to notice).
        expect(leader.stdout).toMatch(/Left the election for "service\/billing\/leader"/);
        await follower.waitUntil('the other instance to take over', () => leads(follower), 15_000);
        await follower.waitUntil("the new leader's job to run", () => sends(follower) >= 1, 20_000);
        await follower.waitUntil(
          "the new leader's @ClusterCron fire",
          () => reports(follower) >= 1,
          20_000,
        );
        const fireTimes = [leader, follower].flatMap((child) =>
          [...child.stdout.matchAll(REPORT_LINE)].map((match) => match[1]),
        );
        expect(fireTimes.filter((t, i) => fireTimes.indexOf(t) !== i)).toEqual([]);
        follower.signal('SIGTERM');
        await follower.waitExit(15_000);
        expect(stoppedByShutdownHooks(follower)).toBe(true);
        for (const child of [leader, follower])
          expect(child.stderr).not.toMatch(MODULE_FORMAT_ERRORS);
      } finally {
        // The README's key is shared by both fixtures' runs: leave no instance holding it.
        await Promise.all([first, second].map((child) => child.kill()));
      }
    }, 120_000);
  },
);
