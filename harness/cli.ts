/*
 * The harness from the command line (CI, the sample's demo, a developer's shell):
 *   node_modules/.bin/ts-node --transpile-only harness/cli.ts <command>
 *     ensure            resolve (and if needed fetch) Consul, print where it comes from
 *     agent             start a dev agent, print its address, run until SIGINT/SIGTERM
 *     check-leftovers   exit 1 listing consul processes the harness started that still run
 */
import { startConsulAgent } from './start-agent';
import { ensureConsulSource } from './consul-source';
import { liveRecords } from './process-registry';

async function ensure(): Promise<number> {
  const started = performance.now();
  const source = await ensureConsulSource();
  console.log(`Consul from ${source.kind}: ${source.detail}`);
  if (source.binary) console.log(`CONSUL_BIN=${source.binary}`);
  if (source.address) console.log(`CONSUL_HTTP_ADDR=${source.address}`);
  console.log(`(${Math.round(performance.now() - started)} ms)`);
  return 0;
}

async function agent(): Promise<number> {
  const consul = await startConsulAgent({ forceLocal: process.argv.includes('--local') });
  console.log(consul.address);
  console.error(
    `Consul ${await consul.version()} pid ${consul.pid ?? '-'} log ${consul.logFile ?? '-'}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await consul.stop();
  return 0;
}

function checkLeftovers(): number {
  // Whatever runs while its owner (a Jest worker, a CLI) is gone was never stopped.
  const left = liveRecords({ orphansOnly: true });
  const owned = liveRecords().filter((r) => !left.some((l) => l.pid === r.pid));
  for (const r of owned) {
    console.log(`(pid ${r.pid} node ${r.node} still runs for its live owner pid ${r.ownerPid})`);
  }
  if (left.length === 0) {
    console.log('No Consul process left running by the harness.');
    return 0;
  }
  console.error(`${left.length} Consul process(es) left running by the harness:`);
  for (const r of left) {
    console.error(`  pid ${r.pid} node ${r.node} started ${r.startedAt}: ${r.argv.join(' ')}`);
  }
  return 1;
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'ensure':
      return ensure();
    case 'agent':
      return agent();
    case 'check-leftovers':
      return checkLeftovers();
    default:
      console.error('usage: cli.ts ensure | agent [--local] | check-leftovers');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  },
);
