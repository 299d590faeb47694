import type { ChildProcess } from 'node:child_process';
import { onLines, signal, waitExit, type ProcessRegistry } from './processes';

/**
 * One `consul lock -n 1` (Consul's own client) contending for `prefix`. Its child is a shell that
 * prints `RUNNING <pid>` and then sleeps, so "the next holder's child runs" is the line arriving.
 */
export class ConsulLockContender {
  readonly process: ChildProcess;
  /** Monotonic time (this process) at which the child reported running; null until then. */
  runningAt: number | null = null;
  childPid: number | null = null;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly registry: ProcessRegistry,
    binary: string,
    httpAddr: string,
    prefix: string,
  ) {
    this.process = registry.spawn(binary, [
      'lock',
      `-http-addr=${httpAddr}`,
      '-n',
      '1',
      prefix,
      'echo RUNNING $$; exec sleep 3600',
    ]);
    onLines(this.process, (line, receivedAt) => {
      const match = /^RUNNING (\d+)/.exec(line);
      if (!match) return;
      this.runningAt = receivedAt;
      this.childPid = Number(match[1]);
      registry.adopt(this.childPid);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves when this contender's child runs (it holds the lock). */
  whenRunning(timeoutMs: number): Promise<number> {
    if (this.runningAt !== null) return Promise.resolve(this.runningAt);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consul lock child not running after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(this.runningAt!);
      });
    });
  }

  /** Graceful: `consul lock` stops its child, releases the lock and destroys its session. */
  async terminate(): Promise<void> {
    signal(this.process.pid, 'SIGTERM');
    await waitExit(this.process, 10_000);
    if (this.childPid) this.registry.forget(this.childPid);
  }

  /** Crash: SIGKILL of `consul lock` itself; its orphaned child is then killed too (it would hold nothing). */
  async kill(): Promise<void> {
    signal(this.process.pid, 'SIGKILL');
    await waitExit(this.process, 5_000);
    if (this.childPid) {
      signal(this.childPid, 'SIGKILL');
      this.registry.forget(this.childPid);
    }
  }
}
