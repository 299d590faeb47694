import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * Every process the benchmark starts, so that all of them are stopped by PID when it ends — also on
 * an error or Ctrl-C. Grandchildren we learn the PID of (the `sh` that `consul lock` runs) are
 * tracked too, since a SIGKILLed `consul lock` leaves its child behind.
 */
export class ProcessRegistry {
  private readonly children = new Set<ChildProcess>();
  private readonly orphans = new Set<number>();

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    // A child that writes a lot to stderr must not block on a full pipe; BENCH_DEBUG=1 shows it.
    if (process.env.BENCH_DEBUG === '1') child.stderr?.pipe(process.stderr);
    else child.stderr?.resume();
    return child;
  }

  /** A PID we did not spawn directly but are responsible for (a `consul lock` child). */
  adopt(pid: number): void {
    this.orphans.add(pid);
  }

  forget(pid: number): void {
    this.orphans.delete(pid);
  }

  /** SIGTERM to everything still running, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 3_000): Promise<void> {
    const live = [...this.children].filter(
      (child) => child.exitCode === null && child.signalCode === null,
    );
    for (const child of live) signal(child.pid, 'SIGTERM');
    for (const pid of this.orphans) signal(pid, 'SIGTERM');
    await Promise.all(live.map((child) => waitExit(child, graceMs)));
    for (const child of live)
      if (child.exitCode === null && child.signalCode === null) signal(child.pid, 'SIGKILL');
    for (const pid of this.orphans) signal(pid, 'SIGKILL');
    this.orphans.clear();
  }

  /** Synchronous last resort for `process.on('exit')`. */
  killAllNow(): void {
    for (const child of this.children) signal(child.pid, 'SIGKILL');
    for (const pid of this.orphans) signal(pid, 'SIGKILL');
  }
}

export function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Calls `onLine` with each stdout line and the monotonic time (this process) it arrived. */
export function onLines(
  child: ChildProcess,
  onLine: (line: string, receivedAt: number) => void,
): void {
  readline
    .createInterface({ input: child.stdout! })
    .on('line', (line) => onLine(line, performance.now()));
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes of this machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export const repoRoot = path.resolve(__dirname, '..', '..');

/** Runs a TypeScript file of bench/ in a fresh Node (transpile-only ts-node), with extra Node flags. */
export function spawnTs(
  registry: ProcessRegistry,
  file: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): ChildProcess {
  return registry.spawn(
    process.execPath,
    [...nodeFlags, '-r', 'ts-node/register/transpile-only', path.join(repoRoot, file), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    },
  );
}
