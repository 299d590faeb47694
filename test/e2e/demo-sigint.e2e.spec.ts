import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pollUntil } from '../../harness';

/*
 * `npm start` runs until Ctrl-C and must leave nothing behind. A terminal's Ctrl-C sends SIGINT to
 * the foreground process group (npm, sh, the demo, the harness's Consul agent); `kill -INT <pid>`
 * reaches the demo alone. Either way every PID the demo announced (its own, Consul's, each
 * instance's, restarted ones included) must be gone once npm has exited, and so must the group.
 * The two runs are independent and slow to start (a Consul agent, three Nest apps), so they run
 * side by side.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 75_000;

interface DemoRun {
  readonly pgid: number;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  readonly exited: Promise<void>;
}

/** `npm start` as a newcomer types it, in a process group of its own like a shell job. */
function startDemo(): DemoRun {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      output += chunk;
      listeners.forEach((listener) => listener());
    });
  }
  return {
    pgid: child.pid!,
    output: () => output,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
    waitForOutput: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(`no ${pattern} in the demo's output within ${timeoutMs} ms:\n${output}`),
          );
        }, timeoutMs);
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(match);
        };
        listeners.add(check);
        check();
      }),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every PID the demo printed: its own, the Consul agent's, each instance's. */
function announcedPids(output: string): number[] {
  return [...new Set([...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1])))];
}

/** What still runs a short while after npm exited (a process being reaped gets the moment). */
async function leftRunning(run: DemoRun): Promise<string[]> {
  const left = (): string[] => [
    ...announcedPids(run.output())
      .filter(alive)
      .map((pid) => `pid ${pid}`),
    ...(alive(-run.pgid) ? [`process group ${run.pgid}`] : []),
  ];
  await pollUntil('the demo to stop its processes', () => left().length === 0, {
    timeoutMs: 3_000,
    intervalMs: 100,
  }).catch(() => undefined);
  return left();
}

async function withDemo(body: (run: DemoRun) => Promise<void>): Promise<void> {
  const run = startDemo();
  try {
    await body(run);
  } finally {
    // Only if the test failed half-way: nothing may outlive it.
    for (const pid of announcedPids(run.output()).filter(alive)) process.kill(pid, 'SIGKILL');
    if (alive(-run.pgid)) process.kill(-run.pgid, 'SIGKILL');
  }
}

describe('npm start (scripts/demo.ts)', () => {
  test.concurrent(
    'Ctrl-C (SIGINT to the process group) leaves no Consul or sample process running',
    () =>
      withDemo(async (run) => {
        // The interactive part: the stopped instances have been started again.
        await run.waitForOutput(/Press Ctrl-C/, READY_TIMEOUT_MS);
        expect(announcedPids(run.output()).length).toBe(7);

        process.kill(-run.pgid, 'SIGINT');
        await run.exited;

        expect(await leftRunning(run)).toEqual([]);
        expect(run.output()).toMatch(/Stopped 3 instances and the Consul agent/);
        // The agent is not in the terminal's process group: it stops last, after the instances
        // released their keys, so none of them lost Consul while shutting down.
        const afterCtrlC = run.output().slice(run.output().indexOf('SIGINT'));
        expect(afterCtrlC).not.toMatch(/socket hang up|ECONNREFUSED|ECONNRESET/);
      }),
    100_000,
  );

  test.concurrent(
    'SIGINT to the demo process alone, mid-story, leaves no Consul or sample process running',
    () =>
      withDemo(async (run) => {
        const [, demoPid] = await run.waitForOutput(/demo pid (\d+)/, READY_TIMEOUT_MS);
        await run.waitForOutput(/leads \(fencing token/, READY_TIMEOUT_MS);

        process.kill(Number(demoPid), 'SIGINT');
        await run.exited;

        expect(await leftRunning(run)).toEqual([]);
        expect(run.output()).toMatch(/Stopped 3 instances and the Consul agent/);
      }),
    100_000,
  );
});
