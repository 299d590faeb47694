/*
 * `npm start` — the sample app, three times, electing a leader on a dev Consul:
 *   1. starts a dev Consul agent through the Consul harness (harness/) (or uses CONSUL_HTTP_ADDR);
 *   2. starts instances a, b and c of sample/main.ts as child processes, output prefixed;
 *   3. shows which one leads (GET /leader of each) and that the job ticks only there;
 *   4. kills the leader with SIGKILL and measures the failover (kill → another one leads, ticks);
 *   5. stops the new leader with SIGTERM and measures the graceful handoff;
 *   6. starts the stopped instances again and runs until Ctrl-C, which stops everything it started.
 *
 * `npm run demo -- --ci` runs 1-5 without a terminal, prints a summary and exits 0 only if both a
 * crash failover and a graceful handoff were seen, with no tick on an instance that did not lead.
 * `--verbose` also shows Nest's start-up lines and debug output.
 */
import { CI_TIMEOUT_MS, Demo, type DemoOptions } from './demo/demo';
import { StepFailed } from './demo/demo-results';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--ci', '--verbose'].includes(a));
  if (unknown.length > 0) {
    console.error(`Unknown argument(s) ${unknown.join(' ')}; usage: demo [--ci] [--verbose]`);
    process.exit(2);
  }
  const options: DemoOptions = { ci: args.includes('--ci'), verbose: args.includes('--verbose') };
  const demo = new Demo(options);

  const finish = async (code: number): Promise<never> => {
    await demo.stop();
    process.exit(code);
  };
  process.on('exit', () => demo.killNow());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (demo.isStopping) {
        demo.narrate('Stopping now (SIGKILL).', 'red');
        demo.killNow();
        process.exit(130);
      }
      demo.narrate(`${signal}: stopping every process the demo started…`);
      void finish(signal === 'SIGINT' ? 130 : 143);
    });
  }
  if (options.ci) {
    setTimeout(() => {
      demo.printSummary(
        false,
        new Error(`the demo did not finish within ${CI_TIMEOUT_MS / 1000} s`),
      );
      void finish(1);
    }, CI_TIMEOUT_MS).unref();
  }

  let ok = false;
  try {
    ok = await demo.run();
    demo.printSummary(ok);
  } catch (error) {
    if (demo.isStopping) return;
    demo.printSummary(false, error as Error);
    if (!(error instanceof StepFailed)) console.error(error);
  }
  if (demo.isStopping) return;
  if (options.ci || !ok) await finish(ok ? 0 : 1);
  await demo.freePlay();
}

void main();
