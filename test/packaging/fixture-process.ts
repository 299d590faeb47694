import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { pollUntil } from '../../harness/poll';
import { MARKER } from './fixture-sources';
import { tail } from './run';

/** One line the fixture app reported (see `APP_SOURCE`). */
export interface FixtureEvent {
  readonly event: string;
  readonly instance: string;
  /** `Date.now()` in the app; all fixture processes run on this machine's clock. */
  readonly at: number;
  readonly [field: string]: unknown;
}

export interface FixtureProcessOptions {
  readonly cwd: string;
  readonly main: string;
  readonly instance: string;
  readonly env: Readonly<Record<string, string>>;
  /** The Node binary to run it with. Default: this process's. */
  readonly node?: string;
}

/**
 * A running fixture app: collects its reported events and its raw output, waits for conditions on
 * them, and asks it to shut down through stdin (never a signal, so `app.close()` runs).
 */
export class FixtureProcess {
  readonly events: FixtureEvent[] = [];
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined = undefined;
  exitSignal: NodeJS.Signals | null = null;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private partial = '';

  constructor(readonly options: FixtureProcessOptions) {
    this.child = spawn(options.node ?? process.execPath, [options.main], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env, FIXTURE_INSTANCE: options.instance },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.notify();
        resolve();
      });
    });
  }

  get instance(): string {
    return this.options.instance;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  named(event: string): FixtureEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Resolves with the first event (from the start) that matches, or rejects after `timeoutMs`. */
  async waitFor(
    description: string,
    predicate: (event: FixtureEvent) => boolean,
    timeoutMs: number,
  ): Promise<FixtureEvent> {
    let found: FixtureEvent | undefined;
    await this.waitUntil(
      description,
      () => (found = this.events.find(predicate)) !== undefined,
      timeoutMs,
    );
    return found!;
  }

  /** Resolves when `condition` holds (re-checked on every event and at exit). */
  waitUntil(description: string, condition: () => boolean, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition()) {
          done();
          resolve();
        } else if (!this.running) {
          done();
          reject(
            new Error(
              `${this.instance} exited (${this.exitDescription()}) before: ${description}\n${this.diagnostics()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.instance}: timed out after ${timeoutMs} ms waiting for: ${description}\n${this.diagnostics()}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Asks the app to `app.close()`; resolves when it reported `closed`. */
  async close(timeoutMs = 15_000): Promise<FixtureEvent> {
    if (this.running) this.child.stdin.write('close\n');
    return this.waitFor('"closed" after app.close()', (e) => e.event === 'closed', timeoutMs);
  }

  /** Resolves with the exit code once the process ends by itself; rejects after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        throw new Error(
          `${this.instance} did not exit within ${timeoutMs} ms of being asked to close ` +
            `(still open: ${JSON.stringify(this.named('still-running')[0]?.resources ?? 'unknown')})\n` +
            this.diagnostics(),
        );
      }
    }
    return this.exitCode ?? null;
  }

  /** Sends `signal` (the README's app stops on SIGTERM through `enableShutdownHooks()`). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Last resort in afterAll: SIGKILL if still running. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  diagnostics(): string {
    return (
      `--- ${this.instance} stdout (tail) ---\n${tail(this.stdout, 60)}\n` +
      `--- ${this.instance} stderr (tail) ---\n${tail(this.stderr, 60)}`
    );
  }

  private exitDescription(): string {
    return this.exitSignal ? `signal ${this.exitSignal}` : `code ${this.exitCode}`;
  }

  private onStdout(chunk: string): void {
    this.stdout += chunk;
    this.partial += chunk;
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const at = line.indexOf(MARKER);
      if (at < 0) continue;
      try {
        this.events.push(JSON.parse(line.slice(at + MARKER.length)) as FixtureEvent);
      } catch {
        // A marker inside some other output: not ours.
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }
}

/** Polls until one of `processes` has reported a matching event; resolves with that process. */
export async function waitForAny(
  processes: readonly FixtureProcess[],
  description: string,
  predicate: (event: FixtureEvent) => boolean,
  timeoutMs: number,
): Promise<{ process: FixtureProcess; event: FixtureEvent }> {
  const found = (): { process: FixtureProcess; event: FixtureEvent } | undefined => {
    for (const candidate of processes) {
      const event = candidate.events.find(predicate);
      if (event) return { process: candidate, event };
    }
    return undefined;
  };
  const exited = (): string | undefined => {
    const dead = processes.find((p) => !p.running);
    return dead && !found() ? `${dead.instance} exited` : undefined;
  };
  try {
    return await pollUntil(description, found, { timeoutMs, intervalMs: 25, abort: exited });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n${processes.map((p) => p.diagnostics()).join('\n')}`,
    );
  }
}
