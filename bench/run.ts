// `npm run bench [-- --quick] [-- --only=handoff,crash,herd,steady,decorator,memory,cron]`: every
// scenario against a harness-started Consul dev agent, side by side with `consul lock` where it
// applies; prints a table, writes bench/results/latest.json, a dated copy and latest.svg (quick mode:
// the same files under bench/.tmp/results/).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startConsulAgent, type ConsulAgent } from '../harness';
import { renderChart, type ChartRow } from './lib/chart';
import type { BenchContext } from './lib/context';
import { evaluateGoals, renderTable, type BenchResults } from './lib/report';
import { ProcessRegistry, repoRoot } from './lib/processes';
import { runConsulLockCrash, runCrash } from './scenarios/crash';
import { runCron } from './scenarios/cron';
import { runDecorator, runMemory } from './scenarios/decorator-and-memory';
import { runHandoff } from './scenarios/handoff';
import { runHerd } from './scenarios/herd';
import { runSteady } from './scenarios/steady';

const SCENARIOS = ['handoff', 'crash', 'herd', 'steady', 'decorator', 'memory', 'cron'] as const;

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const onlyArg = process.argv.find((arg) => arg.startsWith('--only='));
  const only = new Set(onlyArg ? onlyArg.slice('--only='.length).split(',') : SCENARIOS);
  const started = performance.now();
  const log = (message: string): void =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

  const registry = new ProcessRegistry();
  let agent: ConsulAgent | null = null;
  let interrupted = false;
  const onSignal = (name: string): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${name}: stopping every process the benchmark started`);
    void registry
      .stopAll(2_000)
      .then(() => agent?.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.on('exit', () => registry.killAllNow());

  try {
    // Every candidate keeps two blocking queries open, all from 127.0.0.1: at N = 200 that is over
    // Consul's default of 200 HTTP connections per client address, which then resets connections.
    agent = await startConsulAgent({
      forceLocal: true,
      extraConfig: { limits: { http_max_conns_per_client: 4096 } },
    });
    if (!agent.binary)
      throw new Error('the benchmark needs a local consul binary (for `consul lock`)');
    const consulVersion = await agent.version();
    const machine = {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      consul: consulVersion,
      consulAgent:
        'dev agent started by harness/ (session_ttl_min lowered, limits.http_max_conns_per_client 4096; the library runs with its default timings)',
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };
    log(
      `machine: ${machine.cores} cores ${machine.cpuModel}, Node ${machine.node}, Consul ${machine.consul}; mode ${quick ? 'quick' : 'full'}`,
    );
    const runId = randomBytes(3).toString('hex');
    const ctx: BenchContext = {
      quick,
      agent: { host: agent.host, port: agent.port, address: agent.address, binary: agent.binary },
      registry,
      uniqueKey: (name) => `bench/${runId}/${name}`,
      log,
    };

    const results: BenchResults = {
      mode: quick ? 'quick' : 'full',
      startedAt: new Date().toISOString(),
      machine,
      durationSeconds: 0,
    };
    if (only.has('handoff')) {
      log('1. graceful handoff (core stop(), Nest app.close(), consul lock) …');
      results.handoff = await runHandoff(ctx);
    }
    if (only.has('crash')) {
      log('2. crash failover …');
      results.crash = await runCrash(ctx);
    }
    if (only.has('herd')) {
      log('3. herd …');
      results.herd = await runHerd(ctx);
    }
    if (only.has('steady') || only.has('crash')) {
      log(
        `4. steady state${quick || !only.has('crash') ? '' : ', with consul lock crashes (≈45 s each, concurrently)'} …`,
      );
      const [steady, lockCrash] = await Promise.all([
        only.has('steady') ? runSteady(ctx) : Promise.resolve(undefined),
        only.has('crash') ? runConsulLockCrash(ctx) : Promise.resolve(undefined),
      ]);
      results.steady = steady;
      results.consulLockCrash = lockCrash;
    }
    if (only.has('decorator')) {
      log('5. @LeaderOnly overhead …');
      results.decorator = await runDecorator(ctx);
    }
    if (only.has('memory')) {
      log('6. memory over leadership transitions …');
      results.memory = await runMemory(ctx);
    }
    if (only.has('cron')) {
      log('7. ClusterCron: J jobs × N instances …');
      results.cron = await runCron(ctx);
    }
    results.durationSeconds = Math.round((performance.now() - started) / 1000);
    results.goals = evaluateGoals(results);

    const table = renderTable(results);
    console.log(`\n${table}`);
    const dir = writeResults(results);
    log(
      `done in ${results.durationSeconds} s; wrote ${dir}/latest.json, a dated copy and latest.svg`,
    );
    return 0;
  } finally {
    await registry.stopAll();
    await agent?.stop();
  }
}

/**
 * A full run writes bench/results/ (committed: the README's table comes from it); a quick run (CI)
 * writes the same files to bench/.tmp/results/, so that it never overwrites the published numbers.
 */
function writeResults(results: BenchResults): string {
  const dir =
    results.mode === 'quick'
      ? path.join(repoRoot, 'bench', '.tmp', 'results')
      : path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  fs.writeFileSync(path.join(dir, 'latest.json'), json);
  fs.writeFileSync(
    path.join(dir, `${results.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`),
    json,
  );
  fs.writeFileSync(path.join(dir, 'latest.svg'), chart(results));
  return path.relative(repoRoot, dir);
}

function chart(results: BenchResults): string {
  const rows: ChartRow[] = [];
  const { handoff, crash, consulLockCrash, herd } = results;
  if (handoff) {
    rows.push({ label: 'handoff: core stop()', distribution: handoff.core, side: 'ours' });
    rows.push({ label: 'handoff: Nest app.close()', distribution: handoff.nest, side: 'ours' });
    rows.push({
      label: 'handoff: consul lock',
      distribution: handoff.consulLock,
      side: 'consul lock',
    });
  }
  for (const series of herd?.graceful ?? [])
    rows.push({ label: `handoff, herd N=${series.n}`, distribution: series.time, side: 'ours' });
  for (const series of herd?.consulLockGraceful ?? [])
    rows.push({
      label: `handoff, consul lock N=${series.n}`,
      distribution: series.time,
      side: 'consul lock',
    });
  if (crash)
    rows.push({ label: 'crash failover (SIGKILL)', distribution: crash.ours, side: 'ours' });
  for (const series of herd?.crash ?? [])
    rows.push({
      label: `crash failover, herd N=${series.n}`,
      distribution: series.time,
      side: 'ours',
    });
  if (consulLockCrash?.consulLock)
    rows.push({
      label: 'crash failover: consul lock',
      distribution: consulLockCrash.consulLock,
      side: 'consul lock',
    });
  const m = results.machine;
  return renderChart(
    `Handoff and failover distributions (${results.mode} run, ${results.startedAt.slice(0, 16)}Z)`,
    `${m.cores} cores ${m.cpuModel}, Node ${m.node}, Consul ${m.consul} dev agent, default timings`,
    rows,
  );
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
